/** `npm run emulator`: the Bedrock Runtime emulator on its own port (EMULATOR_PORT, default 4010). */
import { serve } from '@hono/node-server'
import { createBedrockEmulator } from '../bedrock/emulator'
import { parseConfig } from '../config'

const config = parseConfig(process.env)
const credentials = { accessKeyId: config.EMULATOR_ACCESS_KEY_ID, secretAccessKey: config.EMULATOR_SECRET_ACCESS_KEY }
const emulator = createBedrockEmulator({ credentials })
serve({ fetch: emulator.fetch, port: config.EMULATOR_PORT, hostname: '127.0.0.1' }, (info) => {
  console.log(
    `Bedrock emulator on http://127.0.0.1:${info.port} (SigV4 with access key ${credentials.accessKeyId}; answers are synthetic).\n` +
      `Point EdgeChat at it: BEDROCK_ENDPOINT=http://127.0.0.1:${info.port} AWS_ACCESS_KEY_ID=${credentials.accessKeyId} AWS_SECRET_ACCESS_KEY=<EMULATOR_SECRET_ACCESS_KEY>`,
  )
})
