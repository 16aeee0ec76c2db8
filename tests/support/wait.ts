// The one way tests wait: every wait is bounded and says what it waited for.
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Polls until the condition holds (say, a recorded list has filled, or a server
 * answers), or fails after timeoutMs naming `what`; resolves with the milliseconds it took.
 */
export async function until(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 3000,
  stepMs = 10,
): Promise<number> {
  const start = Date.now();
  while (!(await condition())) {
    if (Date.now() - start > timeoutMs)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(stepMs);
  }
  return Date.now() - start;
}
