export default async function globalTeardown() {
  await globalThis.__NRRL_REDIS__?.stop();
}
