import type { GenerationHub } from './hub'

/** Waits (at most `ms`) until a generation's terminal event, followed through the hub wherever it runs. */
export async function untilEnded(hub: GenerationHub, generationId: string, ms: number): Promise<void> {
  const events = await hub.subscribe(generationId, (await hub.status(generationId))?.lastEventId ?? 0)
  if (!events) return
  const iterator = events[Symbol.asyncIterator]()
  let timer: ReturnType<typeof setTimeout> | undefined
  const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))
  const drained = (async () => {
    while (!(await iterator.next()).done);
  })()
  await Promise.race([drained, late])
  clearTimeout(timer)
  await iterator.return?.()
}
