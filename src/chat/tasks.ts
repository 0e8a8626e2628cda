import type { GenerationTask, ProducerContext } from '../stream/hub'
import type { Services } from '../types'
import { chatProducer, type ChatTurn } from './chat-task'

/** Task handlers by name: each turns its input into the generation's event stream. */
const handlers: Record<string, (services: Services, input: unknown) => (context: ProducerContext) => Promise<void>> = {
  chat: (services, input) => chatProducer(services, input as ChatTurn),
}

export const taskNames = Object.keys(handlers)

export function runTask(services: Services, task: GenerationTask, context: ProducerContext): Promise<void> {
  const handler = handlers[task.task]
  if (!handler) throw new Error(`unknown task "${task.task}"`)
  return handler(services, task.input)(context)
}
