import { AwsV4Signer } from 'aws4fetch'
import { describe, expect, it } from 'vitest'
import { createSigV4Verifier } from '../../src/bedrock/emulator/sigv4-verifier'

const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' }
const now = () => Date.UTC(2015, 7, 30, 12, 36, 0)
const verifier = createSigV4Verifier({ credentials: [credentials], service: 'service', now })
const empty = new Uint8Array(0)

/** From the AWS SigV4 test suite ("get-vanilla", "post-vanilla"). */
const suite = [
  ['GET', '5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31'],
  ['POST', '5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b'],
] as const

describe('SigV4 verifier', () => {
  for (const [method, signature] of suite) {
    it(`accepts the AWS test-suite ${method} vector and rejects it altered`, async () => {
      const headers = (sig: string) =>
        new Headers({
          host: 'example.amazonaws.com',
          'x-amz-date': '20150830T123600Z',
          authorization: `AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=${sig}`,
        })
      const url = new URL('https://example.amazonaws.com/')
      expect(await verifier({ method, url, headers: headers(signature), body: empty })).toEqual({ ok: true, accessKeyId: 'AKIDEXAMPLE', region: 'us-east-1' })
      const tampered = signature.slice(0, -1) + (signature.endsWith('1') ? '2' : '1')
      expect(await verifier({ method, url, headers: headers(tampered), body: empty })).toMatchObject({ ok: false, type: 'InvalidSignatureException' })
      expect(await verifier({ method, url: new URL('https://example.amazonaws.com/x'), headers: headers(signature), body: empty })).toMatchObject({
        ok: false,
      })
      expect(await verifier({ method, url, headers: headers(signature), body: Uint8Array.of(1) })).toMatchObject({ ok: false })
    })
  }

  it('agrees with aws4fetch on encoded paths, queries, session tokens and bodies', async () => {
    const withToken = { ...credentials, sessionToken: 'session-token' }
    const verify = createSigV4Verifier({ credentials: [withToken], service: 'bedrock', now })
    const url = 'http://127.0.0.1:4010/model/us.anthropic.claude-3-7-sonnet-20250219-v1%3A0/converse-stream?b=2&a=1&a=0'
    const body = JSON.stringify({ messages: [{ role: 'user', content: [{ text: 'héllo' }] }] })
    const signed = await new AwsV4Signer({
      method: 'POST',
      url,
      body,
      headers: { 'content-type': 'application/json', 'x-custom': '  spaced   value ' },
      ...withToken,
      service: 'bedrock',
      region: 'eu-central-1',
      datetime: '20150830T123600Z',
    }).sign()
    const request = { method: 'POST', url: new URL(url), headers: signed.headers, body: new TextEncoder().encode(body) }
    expect(await verify(request)).toEqual({ ok: true, accessKeyId: 'AKIDEXAMPLE', region: 'eu-central-1' })
    const noToken = new Headers(signed.headers)
    noToken.delete('x-amz-security-token')
    expect(await verify({ ...request, headers: noToken })).toMatchObject({ ok: false, type: 'UnrecognizedClientException' })
  })

  it('names what is wrong', async () => {
    const result = (headers: Record<string, string>) =>
      verifier({ method: 'GET', url: new URL('https://example.amazonaws.com/'), headers: new Headers(headers), body: empty })
    expect(await result({})).toMatchObject({ type: 'MissingAuthenticationTokenException' })
    expect(await result({ authorization: 'Basic abc' })).toMatchObject({ type: 'InvalidSignatureException' })
    expect(
      await result({
        authorization: 'AWS4-HMAC-SHA256 Credential=NOPE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=00',
        'x-amz-date': '20150830T123600Z',
      }),
    ).toMatchObject({ type: 'UnrecognizedClientException' })
  })
})
