import { describe, expect, it } from 'vitest'
import { BedrockError, bedrockErrorFromResponse, publicMessage, toApiErrorCode } from '../../src/bedrock/bedrock-error'

const response = (status: number, body: string, headers: Record<string, string> = {}) => new Response(body, { status, headers })

describe('bedrockErrorFromResponse', () => {
  it('reads the type from x-amzn-errortype and the message from the JSON body', async () => {
    const error = await bedrockErrorFromResponse(
      response(429, '{"message":"Too many requests, please wait before trying again."}', {
        'x-amzn-errortype': 'ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/',
        'x-amzn-requestid': 'req-1',
      }),
      2,
    )
    expect(error).toBeInstanceOf(BedrockError)
    expect(error).toMatchObject({ type: 'ThrottlingException', status: 429, retryable: true, attempts: 2, requestId: 'req-1' })
    expect(error.message).toBe('Too many requests, please wait before trying again.')
  })

  it('falls back to __type, then to the status', async () => {
    expect(await bedrockErrorFromResponse(response(400, '{"__type":"com.amazon#ValidationException","Message":"bad"}'))).toMatchObject({
      type: 'ValidationException',
      message: 'bad',
      retryable: false,
    })
    expect(await bedrockErrorFromResponse(response(503, '<html>gateway</html>'))).toMatchObject({
      type: 'ServiceUnavailableException',
      message: '<html>gateway</html>',
      retryable: true,
    })
    expect(await bedrockErrorFromResponse(response(502, ''))).toMatchObject({ type: 'UnknownError', message: 'HTTP 502', retryable: false })
  })

  it('marks exactly 408, 429, 500 and 503 retryable', async () => {
    for (const status of [400, 403, 404, 408, 424, 429, 500, 503]) {
      const error = await bedrockErrorFromResponse(response(status, '{}'))
      expect(error.retryable, String(status)).toBe([408, 429, 500, 503].includes(status))
    }
  })
})

describe('toApiErrorCode', () => {
  const error = (type: string, status?: number) => new BedrockError({ type, message: type, status, retryable: false })
  it('maps Bedrock failures to our error codes', () => {
    expect(toApiErrorCode(error('ThrottlingException', 429))).toBe('rate_limited')
    expect(toApiErrorCode(error('ModelNotReadyException', 429))).toBe('rate_limited')
    expect(toApiErrorCode(error('ValidationException', 400))).toBe('validation_failed')
    expect(toApiErrorCode(error('ModelTimeoutException', 408))).toBe('upstream_timeout')
    expect(toApiErrorCode(new DOMException('timed out', 'TimeoutError'))).toBe('upstream_timeout')
    expect(toApiErrorCode(error('AccessDeniedException', 403))).toBe('upstream_error')
    expect(toApiErrorCode(error('ModelStreamErrorException', 424))).toBe('upstream_error')
    expect(toApiErrorCode(error('TruncatedStream'))).toBe('upstream_error')
    expect(toApiErrorCode(new Error('other'))).toBe('upstream_error')
  })
})

describe('publicMessage', () => {
  const arn = 'User: arn:aws:sts::123456789012:assumed-role/Role/x is not authorized to perform: bedrock:InvokeModel on resource: arn:aws:bedrock:us-east-1::foundation-model/m'
  const error = (type: string, status: number, message = arn) => new BedrockError({ type, status, message, retryable: false })

  it.each([
    [error('AccessDeniedException', 403), 'The model service returned an error'],
    [error('ThrottlingException', 429), 'The model service is rate limiting requests'],
    [error('ModelTimeoutException', 408), 'The model service did not answer in time'],
    [error('ValidationException', 400), 'The model rejected the request'],
    [error('ValidationException', 400, 'Too many images: a request can contain at most 20 images.'), 'The model rejected the request: it has too many images'],
    [error('ValidationException', 400, 'The provided model identifier is invalid.'), 'The model rejected the request: the model identifier is invalid or not available'],
    [error('InternalServerException', 500), 'The model service returned an error'],
  ])('never repeats Bedrock’s text (%#)', (failure, message) => {
    expect(publicMessage(failure)).toBe(message)
    expect(publicMessage(failure)).not.toMatch(/arn:|123456789012/)
  })
})
