import { z } from '@hono/zod-openapi'
import { defineTool, ToolInputError } from '../tool'

/** current_time, reading the clock it is given (the app's `now`). */
export function currentTimeTool(now: () => Date) {
  return defineTool({
    name: 'current_time',
    description: 'Returns the current date and time in an IANA time zone (default UTC), with the weekday and the UTC offset.',
    input: z.object({ timeZone: z.string().min(1).max(100).optional().describe('An IANA time zone name such as "Europe/Paris"; default "UTC"') }),
    run({ timeZone = 'UTC' }) {
      const date = now()
      let local: string
      try {
        // Swedish writes dates and times as ISO 8601 does: "2026-03-01 21:00:00 GMT+09:00".
        local = new Intl.DateTimeFormat('sv-SE', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', timeZoneName: 'longOffset' }).format(date)
      } catch {
        throw new ToolInputError(`Unknown time zone "${timeZone}": use an IANA name such as Europe/Paris`)
      }
      const [day, time, zone = ''] = local.split(' ')
      const iso = `${day}T${time}${zone.replace(/^GMT|^UTC/, '').replace('−', '-') || '+00:00'}`
      return { timeZone, iso, weekday: date.toLocaleDateString('en-US', { timeZone, weekday: 'long' }), utc: date.toISOString() }
    },
  })
}
