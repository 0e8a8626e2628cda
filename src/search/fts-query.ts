/** What the index's tokenizer (unicode61 with these categories) keeps as part of a word. */
const WORD_CHARACTER = /[\p{L}\p{N}\p{Co}\p{M}\p{So}\p{Cf}]/u
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/g

/**
 * A user's search text as an FTS5 query that cannot be a syntax error: every whitespace-separated term becomes a
 * quoted string (a phrase of its words; `"` doubled, so `*`, `-`, `NEAR`, `AND`, parentheses and quotes are just
 * text), all terms must match, the last as a prefix (search as you type). Null when no term has a word in it.
 */
export function ftsQuery(input: string): string | null {
  const terms = input
    .replace(CONTROL, ' ')
    .split(/\s+/)
    .filter((term) => WORD_CHARACTER.test(term))
  if (terms.length === 0) return null
  return terms.map((term, index) => `"${term.replaceAll('"', '""')}"${index === terms.length - 1 ? '*' : ''}`).join(' ')
}
