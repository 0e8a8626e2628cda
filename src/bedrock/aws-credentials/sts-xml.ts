/**
 * Just enough XML for STS's Query-protocol answers: elements found by exact name, leaf text with XML's five
 * named entities and numeric references. Anything unexpected (a repeated or missing element, markup or an
 * unknown entity inside a value) is refused rather than guessed at.
 */
export class StsXmlError extends Error {
  override readonly name = 'StsXmlError'
}

/** The inner XML of the one `<name …>…</name>` element in `xml` (names are plain identifiers). */
export function onlyElement(xml: string, name: string): string {
  const opening = [...xml.matchAll(new RegExp(`<${name}(?:\\s[^<>]*)?(/?)>`, 'g'))]
  if (opening.length === 0) throw new StsXmlError(`no <${name}> element`)
  if (opening.length > 1) throw new StsXmlError(`more than one <${name}> element`)
  const match = opening[0]!
  if (match[1] === '/') return ''
  const start = match.index + match[0].length
  const end = xml.indexOf(`</${name}>`, start)
  if (end < 0) throw new StsXmlError(`<${name}> is not closed`)
  return xml.slice(start, end)
}

/** The text of the one leaf element `<name>text</name>`, entities decoded. */
export function leafText(xml: string, name: string): string {
  const inner = onlyElement(xml, name)
  if (inner.includes('<')) throw new StsXmlError(`<${name}> holds markup, not text`)
  return decodeEntities(inner, name)
}

const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" }

function decodeEntities(text: string, name: string): string {
  return text.replace(/&([^;&\s]*);?/g, (whole, entity: string) => {
    if (!whole.endsWith(';')) throw new StsXmlError(`<${name}> has a bare "&"`)
    if (entity in NAMED) return NAMED[entity]!
    const numeric = /^#(?:x([0-9a-fA-F]{1,6})|([0-9]{1,7}))$/.exec(entity)
    const code = numeric ? (numeric[1] !== undefined ? parseInt(numeric[1], 16) : Number(numeric[2])) : NaN
    if (!(code > 0 && code <= 0x10ffff)) throw new StsXmlError(`<${name}> has an unknown entity "${whole}"`)
    return String.fromCodePoint(code)
  })
}
