/** `npm run db:migrate`: applies migrations/ to DATABASE_URL (the servers also do this at start-up). */
import { parseConfig } from '../config'
import { openDatabase } from './local'

const config = parseConfig(process.env)
const client = await openDatabase(config)
client.close()
console.log(`Migrations applied to ${config.DATABASE_URL}`)
