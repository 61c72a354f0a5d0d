/**
 * Express's `trust proxy` from the TRUST_PROXY variable: unset or empty leaves it off;
 * 'true'/'false', a hop count ('1'), or addresses/subnets ('loopback, 10.0.0.0/8') as Express
 * reads them.
 */
export function parseTrustProxy(value: string | undefined): boolean | number | string | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  if (value === 'true') return true;
  if (value === 'false') return false;
  return /^\d+$/.test(value) ? Number(value) : value;
}
