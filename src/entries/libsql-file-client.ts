/**
 * A @libsql/client `Client` for a local SQLite file (or `:memory:`) over the native `libsql` binding that
 * @libsql/client itself runs on, keeping one connection and its prepared statements. @libsql/client prepares every
 * statement on every call, probes each for rows by catching an exception and builds rows property by property:
 * on a chat turn that was a third of the server's CPU. Rows are arrays (how drizzle reads them) that also carry
 * their columns by name.
 * Remote databases (Turso) keep @libsql/client.
 *
 * Batches commit in groups: those issued in one turn of the event loop run in one transaction, each in its own
 * savepoint (so each is still atomic, and one that fails is undone alone), and each resolves once the group has
 * committed. A commit writes every page it changed to the WAL, page by page; concurrent turns change the same pages
 * (the newest leaf of each table and index), so a group writes them once instead of once per batch.
 *
 * The binding stores every byte of a string but reads TEXT back only up to its first NUL (so does @libsql/client's
 * own local mode, which runs on it). A string holding NUL is therefore bound as its UTF-8 bytes, a BLOB, which reads
 * back whole; a BLOB read from a column not declared BLOB is such a string, and is decoded.
 */
import Database from 'libsql'
import { LibsqlError, type Client, type InArgs, type InStatement, type InValue, type ResultSet, type Row, type Transaction } from '@libsql/client'

type Statement = ReturnType<Database.Database['prepare']>

/** Statements are keyed by their SQL; drizzle's SQL varies only with list lengths, so a bound keeps this small. */
const CACHED_STATEMENTS = 500

const BEGIN = { write: 'BEGIN IMMEDIATE', read: 'BEGIN TRANSACTION READONLY', deferred: 'BEGIN DEFERRED' } as const

class Result implements ResultSet {
  constructor(
    readonly columns: string[],
    readonly rows: Row[],
    readonly rowsAffected: number,
    readonly lastInsertRowid: bigint | undefined,
  ) {}

  get columnTypes(): string[] {
    return this.columns.map(() => '')
  }

  toJSON() {
    return { columns: this.columns, rows: this.rows, rowsAffected: this.rowsAffected, lastInsertRowid: this.lastInsertRowid?.toString() ?? null }
  }
}

function toSql(value: InValue | undefined): unknown {
  if (typeof value === 'string') return value.includes('\0') ? Buffer.from(value, 'utf8') : value
  if (typeof value === 'boolean') return value ? 1 : 0
  if (value instanceof Date) return value.getTime()
  if (value instanceof ArrayBuffer) return Buffer.from(value)
  return value ?? null
}

function toSqlArgs(args: InArgs | undefined): unknown[] | Record<string, unknown> {
  if (args === undefined) return []
  if (Array.isArray(args)) return args.map(toSql)
  const named: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(args)) named[/^[@$:]/.test(name) ? name.slice(1) : name] = toSql(value)
  return named
}

interface Column {
  name: string
  /** Not declared BLOB: a BLOB found here is a string that holds NUL (see toSql). */
  text: boolean
}

function named(row: unknown[], columns: Column[]): Row {
  const byName = row as unknown as Record<string, unknown>
  for (let i = 0; i < columns.length; i++) {
    const { name, text } = columns[i]!
    if (text && Buffer.isBuffer(row[i])) row[i] = (row[i] as Buffer).toString('utf8')
    if (!Object.hasOwn(byName, name)) byName[name] = row[i]
  }
  return row as unknown as Row
}

function libsqlError(error: unknown): unknown {
  if (!(error instanceof Database.SqliteError)) return error
  const { code, rawCode } = error as Error & { code: string; rawCode?: number }
  const base = rawCode === undefined ? code : code.replace(/^(SQLITE_[A-Z]+)_.*$/, '$1')
  return new LibsqlError(error.message, base, code, rawCode, error)
}

interface PendingBatch {
  stmts: Array<InStatement | [string, InArgs?]>
  resolve: (results: ResultSet[]) => void
  reject: (error: unknown) => void
}

export class LibsqlFileClient implements Client {
  readonly protocol = 'file'
  closed = false
  private readonly db: Database.Database
  private readonly statements = new Map<string, { statement: Statement; columns: Column[] | null; names: string[] }>()
  private pending: PendingBatch[] = []

  constructor(path: string) {
    this.db = new Database(path)
  }

  private prepared(sql: string) {
    let entry = this.statements.get(sql)
    if (entry) return entry
    const statement = this.db.prepare(sql)
    const columns = statement.reader
      ? statement
          .raw(true)
          .columns()
          .map((column) => ({ name: column.name, text: !/BLOB/i.test(column.type ?? '') }))
      : null
    entry = { statement, columns, names: columns?.map((column) => column.name) ?? [] }
    if (this.statements.size >= CACHED_STATEMENTS) this.statements.delete(this.statements.keys().next().value!)
    this.statements.set(sql, entry)
    return entry
  }

  private run(stmt: InStatement | [string, InArgs?]): ResultSet {
    const [sql, args] = typeof stmt === 'string' ? [stmt, undefined] : Array.isArray(stmt) ? stmt : [stmt.sql, stmt.args]
    try {
      const { statement, columns, names } = this.prepared(sql)
      const values = toSqlArgs(args)
      if (columns) return new Result(names, (statement.all(values) as unknown[][]).map((row) => named(row, columns)), 0, undefined)
      const info = statement.run(values)
      return new Result([], [], info.changes, BigInt(info.lastInsertRowid))
    } catch (error) {
      throw libsqlError(error)
    }
  }

  private withTransaction<T>(begin: string, work: () => T): T {
    this.run(begin)
    try {
      const result = work()
      this.run('COMMIT')
      return result
    } finally {
      if (this.db.inTransaction) this.run('ROLLBACK')
    }
  }

  private checkOpen() {
    if (this.closed) throw new LibsqlError('The client is closed', 'CLIENT_CLOSED')
  }

  async execute(stmtOrSql: InStatement | string, args?: InArgs): Promise<ResultSet> {
    this.checkOpen()
    return this.run(typeof stmtOrSql === 'string' ? { sql: stmtOrSql, args: args ?? [] } : stmtOrSql)
  }

  async batch(stmts: Array<InStatement | [string, InArgs?]>, mode: keyof typeof BEGIN = 'deferred'): Promise<ResultSet[]> {
    this.checkOpen()
    if (mode === 'read') return this.withTransaction(BEGIN.read, () => stmts.map((stmt) => this.run(stmt)))
    return new Promise((resolve, reject) => {
      if (this.pending.push({ stmts, resolve, reject }) === 1) setImmediate(() => this.commitPending())
    })
  }

  /** Runs the batches queued so far in one transaction, a savepoint each (see the header). */
  private commitPending(): void {
    const group = this.pending
    this.pending = []
    if (group.length === 0) return
    const outcomes: ({ results: ResultSet[] } | { error: unknown })[] = []
    try {
      this.withTransaction(BEGIN.write, () => {
        for (const { stmts } of group) {
          this.run('SAVEPOINT batch')
          try {
            outcomes.push({ results: stmts.map((stmt) => this.run(stmt)) })
          } catch (error) {
            this.run('ROLLBACK TO batch')
            outcomes.push({ error })
          }
          this.run('RELEASE batch')
        }
      })
    } catch (error) {
      for (const { reject } of group) reject(libsqlError(error))
      return
    }
    group.forEach(({ resolve, reject }, i) => {
      const outcome = outcomes[i]!
      if ('results' in outcome) resolve(outcome.results)
      else reject(outcome.error)
    })
  }

  /**
   * What drizzle's migrator calls: the statements in one transaction with foreign keys off, as @libsql/client does.
   * The write lock is taken first, so another process's migration is waited for (busy_timeout), not interleaved.
   */
  async migrate(stmts: InStatement[]): Promise<ResultSet[]> {
    this.checkOpen()
    this.run('PRAGMA foreign_keys=off')
    try {
      return this.withTransaction(BEGIN.write, () => stmts.map((stmt) => this.run(stmt)))
    } finally {
      this.run('PRAGMA foreign_keys=on')
    }
  }

  async executeMultiple(sql: string): Promise<void> {
    this.checkOpen()
    try {
      this.db.exec(sql)
    } catch (error) {
      throw libsqlError(error)
    }
  }

  /** One connection serves every request, so an interactive transaction would take in their statements too. */
  async transaction(): Promise<Transaction> {
    throw new LibsqlError('Interactive transactions are not supported on this client: use batch()', 'TRANSACTION_UNSUPPORTED')
  }

  async sync(): Promise<never> {
    throw new LibsqlError('sync() is only for embedded replicas', 'SYNC_NOT_SUPPORTED')
  }

  reconnect(): void {
    throw new LibsqlError('A local file client cannot reconnect: open a new one', 'RECONNECT_UNSUPPORTED')
  }

  close(): void {
    if (this.closed) return
    this.commitPending()
    this.closed = true
    this.statements.clear()
    this.db.close()
  }
}
