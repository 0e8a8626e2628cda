// The Worker bundle's stand-in for the two Postgres modules drizzle-orm's dialect-neutral core imports, swapped in by
// wrangler.toml's [alias] ("../pg-core/columns/enum.js" from drizzle-orm/sql/sql.js, "./pg-core/primary-keys.js" from
// drizzle-orm/relations.js). Each only tests whether a value is a Postgres enum or primary key, which an SQLite schema
// never holds, but importing them bundles pg-core's column classes (~6.6 KB minified). The tests are kept as drizzle
// writes them: isPgEnum reads the same symbol, and `is(value, PrimaryKeyBuilder)` compares the same entity kind.
const isPgEnumSym = Symbol.for('drizzle:isPgEnum')
export function isPgEnum(obj) {
  return !!obj && typeof obj === 'function' && isPgEnumSym in obj && obj[isPgEnumSym] === true
}
export class PrimaryKeyBuilder {
  static [Symbol.for('drizzle:entityKind')] = 'PgPrimaryKeyBuilder'
}
