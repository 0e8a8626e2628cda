import { bedrockClientSuite } from './bedrock-client-suite'

bedrockClientSuite({ name: 'Bedrock client over fetch', fetch })
