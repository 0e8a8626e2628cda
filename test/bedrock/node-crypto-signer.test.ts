import { AwsV4Signer } from 'aws4fetch'
import { describe, expect, it } from 'vitest'
import { NodeCryptoSigner } from '../../src/entries/node-crypto-signer'

type SignerOptions = ConstructorParameters<typeof AwsV4Signer>[0]

const base: SignerOptions = {
  method: 'POST',
  url: 'https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-sonnet-4-5%3A0/converse-stream',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ messages: [{ role: 'user', content: [{ text: 'héllo ✓ \u0000 "quoted"' }] }] }),
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
  service: 'bedrock',
  region: 'us-east-1',
  datetime: '20261205T041500Z',
}

const headersOf = async (Signer: typeof AwsV4Signer, options: SignerOptions) => Object.fromEntries((await new Signer(options).sign()).headers)

describe('NodeCryptoSigner', () => {
  it.each<[string, Partial<SignerOptions>]>([
    ['a streamed call', {}],
    ['a session token, another region and day', { sessionToken: 'FQoGZXIvYXdzE//token+/=', region: 'eu-west-3', datetime: '20270101T000000Z', url: 'https://bedrock-runtime.eu-west-3.amazonaws.com/model/eu.amazon.nova-pro-v1%3A0/converse' }],
    ['an inference profile ARN and a query', { url: 'https://example.test:8443/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A1%3Ainference-profile%2Fx/converse?b=2&a=1' }],
    ['an empty body', { body: '' }],
    ['a binary body', { body: new TextEncoder().encode('bytes ✓') }],
    ['a declared payload hash', { headers: { 'content-type': 'application/json', 'X-Amz-Content-Sha256': 'UNSIGNED-PAYLOAD' } }],
  ])('signs %s exactly as aws4fetch does', async (_, change) => {
    const options = { ...base, ...change }
    const ours = await headersOf(NodeCryptoSigner, { ...options, cache: new Map() })
    expect(ours.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/[a-z0-9-]+\/bedrock\/aws4_request, SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]{64}$/)
    expect(ours).toEqual(await headersOf(AwsV4Signer, { ...options, cache: new Map() }))
  })

  it('derives the signing key once per secret, day, region and service, and reuses aws4fetch-derived keys', async () => {
    const cache = new Map<string, ArrayBuffer>()
    await new AwsV4Signer({ ...base, cache }).sign()
    expect(cache.size).toBe(1)
    const again = await headersOf(NodeCryptoSigner, { ...base, cache })
    expect(cache.size).toBe(1)
    expect(again).toEqual(await headersOf(AwsV4Signer, { ...base, cache: new Map() }))
    await new NodeCryptoSigner({ ...base, cache, datetime: '20261206T000000Z' }).sign()
    expect(cache.size).toBe(2)
  })
})
