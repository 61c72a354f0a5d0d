export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** max/min over repetitions: 1.00 means no visible noise. */
export function spread(values) {
  return Math.max(...values) / Math.min(...values);
}
