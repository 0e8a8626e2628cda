import { z } from '@hono/zod-openapi'
import { defineTool, ToolInputError } from '../tool'

/** Whether the runtime's Intl knows `timeZone` (an IANA name such as Europe/Paris). */
function knownTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone })
    return true
  } catch {
    return false
  }
}

/** The offset of `timeZone` from UTC at `date`, as +HH:MM. */
function offsetOf(date: Date, timeZone: string): string {
  const name = new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'longOffset' }).formatToParts(date).find((part) => part.type === 'timeZoneName')?.value ?? 'GMT'
  const match = /GMT([+-]\d{2}):?(\d{2})?/.exec(name)
  return match ? `${match[1]}:${match[2] ?? '00'}` : '+00:00'
}

/** The wall-clock date and time in `timeZone` as ISO 8601 with its offset. */
function localIso(date: Date, timeZone: string): string {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' })
      .formatToParts(date)
      .map((part) => [part.type, part.value]),
  )
  return `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}:${parts.second}${offsetOf(date, timeZone)}`
}

/** current_time, reading the clock it is given (the app's `now`). */
export function currentTimeTool(now: () => Date) {
  return defineTool({
    name: 'current_time',
    description: 'Returns the current date and time in an IANA time zone (default UTC), with the weekday and the UTC offset.',
    input: z.object({ timeZone: z.string().min(1).max(100).optional().describe('An IANA time zone name such as "Europe/Paris" or "America/New_York"; default "UTC"') }),
    run({ timeZone = 'UTC' }) {
      if (!knownTimeZone(timeZone)) throw new ToolInputError(`Unknown time zone "${timeZone}": use an IANA name such as Europe/Paris`)
      const date = now()
      const weekday = new Intl.DateTimeFormat('en-US', { timeZone, weekday: 'long' }).format(date)
      return { timeZone, iso: localIso(date, timeZone), weekday, utc: date.toISOString() }
    },
  })
}
