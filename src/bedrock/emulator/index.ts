export { createBedrockEmulator, type BedrockEmulatorOptions } from './bedrock-emulator'
export { parseDirectives, type Directives } from './directives'

/** What the emulator accepts unless configured otherwise (EMULATOR_ACCESS_KEY_ID / EMULATOR_SECRET_ACCESS_KEY). */
export const DEFAULT_EMULATOR_CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'fake-secret' } as const
export const DEFAULT_EMULATOR_REGION = 'us-east-1'
