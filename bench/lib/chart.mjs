// A dependency-free SVG line chart: median decisions/s against concurrency, one line per system.
import { median } from './stats.mjs';

const COLORS = ['#444444', '#999999', '#d62728', '#1f77b4', '#17becf', '#2ca02c'];
const W = 720;
const H = 420;
const PAD = { left: 70, right: 20, top: 40, bottom: 150 };

export function renderChart(runs, systems, { mode, keys, concurrencies }) {
  const series = systems
    .map(({ id, name }) => ({
      name,
      points: concurrencies.map((c) => {
        const here = runs.filter(
          (r) => r.system === id && r.mode === mode && r.keys === keys && r.concurrency === c,
        );
        return here.length > 0 ? median(here.map((r) => r.perSecond)) : undefined;
      }),
    }))
    .filter((s) => s.points.every((p) => p !== undefined));
  const max = Math.max(...series.flatMap((s) => s.points)) * 1.1;
  const x = (i) => PAD.left + (i * (W - PAD.left - PAD.right)) / (concurrencies.length - 1);
  const y = (v) => H - PAD.bottom - (v / max) * (H - PAD.top - PAD.bottom);
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">Decisions/s vs concurrency (mostly-${mode}, ${keys} keys, median of reps)</text>`,
    `<line x1="${PAD.left}" y1="${y(0)}" x2="${W - PAD.right}" y2="${y(0)}" stroke="black"/>`,
    `<line x1="${PAD.left}" y1="${y(0)}" x2="${PAD.left}" y2="${PAD.top}" stroke="black"/>`,
  ];
  for (let t = 0; t <= 4; t++) {
    const v = (max * t) / 4;
    out.push(
      `<text x="${PAD.left - 6}" y="${y(v) + 4}" text-anchor="end">${Math.round(v / 1000)}k</text>`,
    );
    out.push(
      `<line x1="${PAD.left}" y1="${y(v)}" x2="${W - PAD.right}" y2="${y(v)}" stroke="#eee"/>`,
    );
  }
  concurrencies.forEach((c, i) =>
    out.push(`<text x="${x(i)}" y="${y(0) + 16}" text-anchor="middle">C=${c}</text>`),
  );
  series.forEach((s, k) => {
    const color = COLORS[k % COLORS.length];
    const path = s.points
      .map((p, i) => `${i === 0 ? 'M' : 'L'}${x(i).toFixed(1)},${y(p).toFixed(1)}`)
      .join(' ');
    out.push(`<path d="${path}" fill="none" stroke="${color}" stroke-width="2"/>`);
    s.points.forEach((p, i) =>
      out.push(`<circle cx="${x(i)}" cy="${y(p)}" r="3" fill="${color}"/>`),
    );
    const ly = H - PAD.bottom + 40 + k * 16;
    out.push(`<rect x="${PAD.left}" y="${ly - 9}" width="12" height="4" fill="${color}"/>`);
    out.push(
      `<text x="${PAD.left + 18}" y="${ly - 3}">${s.name.replaceAll('&', '&amp;').replaceAll('<', '&lt;')}</text>`,
    );
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}
