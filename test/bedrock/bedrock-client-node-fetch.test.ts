import { nodeBedrockFetch } from '../../src/entries/node-bedrock-fetch'
import { bedrockClientSuite } from './bedrock-client-suite'

bedrockClientSuite({ name: 'Bedrock client over node:http (the Node entry)', fetch: nodeBedrockFetch })
