import { describe, expect, it } from 'vitest'
import { evaluate, ExpressionError, formatNumber } from '../../src/tools/expression'
import { capOutput } from '../../src/tools/output'
import { createSecretBox } from '../../src/tools/secrets'
import { parseMcpToolName } from '../../src/tools/registry'

describe('calculator expressions', () => {
  it.each([
    ['6*7', 42],
    ['1 + 2 * 3', 7],
    ['(1 + 2) * 3', 9],
    ['2 ^ 3 ^ 2', 512],
    ['2 ** 10', 1024],
    ['-2^2', -4],
    ['(-2)^2', 4],
    ['10 / 4', 2.5],
    ['7 % 4', 3],
    ['3 × 4 ÷ 2 − 1', 5],
    ['sqrt(16) + abs(-3)', 7],
    ['min(4, 2, 8) + max(1, 9)', 11],
    ['pow(2, 5)', 32],
    ['2 * pi', 2 * Math.PI],
    ['ln(e)', 1],
    ['log(1000)', 3],
    ['1.5e3 + .5', 1500.5],
    ['--3', 3],
    ['round(2.5) + floor(-1.5) + ceil(1.2)', 3],
  ])('%s = %d', (source, value) => {
    expect(evaluate(source)).toBeCloseTo(value, 12)
  })

  it.each([
    ['', 'empty'],
    ['1 +', 'ends too early'],
    ['1 / 0', 'Division by zero'],
    ['5 % 0', 'Division by zero'],
    ['2 )', 'Unexpected ")"'],
    ['(1 + 2', 'Expected ")"'],
    ['foo(1)', 'Unknown name "foo"'],
    ['sqrt(1, 2)', 'takes 1 argument'],
    ['1 $ 2', 'Unexpected character "$"'],
    ['sqrt(-1)', 'not a finite number'],
    ['10 ^ 400', 'not a finite number'],
    ['process.exit()', 'Unexpected character "."'],
    ['constructor', 'Unknown name "constructor"'],
    ['toString(1)', 'Unknown name "tostring"'],
    ['('.repeat(300) + '1' + ')'.repeat(300), 'nested too deeply'],
    ['1+'.repeat(600) + '1', 'longer than 1000 characters'],
  ])('refuses %j (%s)', (source, message) => {
    expect(() => evaluate(source)).toThrow(ExpressionError)
    expect(() => evaluate(source)).toThrow(message)
  })

  it('formats results as people write them', () => {
    expect(formatNumber(evaluate('0.1 + 0.2'))).toBe('0.3')
    expect(formatNumber(42)).toBe('42')
    expect(formatNumber(-0)).toBe('0')
    expect(formatNumber(1 / 3)).toBe('0.333333333333')
  })
})

describe('tool output cap', () => {
  it('keeps short output as it is and cuts long output, saying so, never splitting a surrogate pair', () => {
    expect(capOutput({ output: 'short', isError: false }, 10)).toEqual({ output: 'short', isError: false })
    expect(capOutput({ output: { a: 1 }, isError: false }, 100)).toEqual({ output: { a: 1 }, isError: false })
    const cut = capOutput({ output: 'a' + '😀'.repeat(10), isError: true }, 4)
    expect(cut).toEqual({ output: 'a😀\n[output truncated: the first 3 of 21 characters]', isError: true })
    expect(capOutput({ output: { text: 'x'.repeat(200) }, isError: false }, 100).output).toMatch(/^\{"text":"x+\n\[output truncated: the first 100 of 211 characters\]$/)
  })
})

describe('sealed secrets', () => {
  it('round-trips with AES-GCM, a fresh IV each time, and refuses a wrong key or a changed byte', async () => {
    const box = createSecretBox(undefined, 'a-jwt-secret-that-is-long-enough-0123456789')
    const one = await box.seal('{"Authorization":"Bearer s3cret"}')
    const two = await box.seal('{"Authorization":"Bearer s3cret"}')
    expect(one).not.toBe(two)
    expect(one).not.toContain('s3cret')
    expect(await box.open(one)).toBe('{"Authorization":"Bearer s3cret"}')
    const other = createSecretBox(btoa(String.fromCharCode(...new Uint8Array(32).fill(7))), 'a-jwt-secret-that-is-long-enough-0123456789')
    await expect(other.open(one)).rejects.toThrow()
    const tampered = one.slice(0, -2) + (one.at(-2) === 'A' ? 'B' : 'A') + one.at(-1)
    await expect(box.open(tampered)).rejects.toThrow()
  })
})

describe('MCP tool names', () => {
  it('splits mcp__{server}__{tool} at the first __ after the server name', () => {
    expect(parseMcpToolName('mcp__github__create_issue')).toEqual({ server: 'github', tool: 'create_issue' })
    expect(parseMcpToolName('mcp__docs__search__v2')).toEqual({ server: 'docs', tool: 'search__v2' })
    expect(parseMcpToolName('calculator')).toBeNull()
    expect(parseMcpToolName('mcp____tool')).toBeNull()
    expect(parseMcpToolName('mcp__server__')).toBeNull()
  })
})
