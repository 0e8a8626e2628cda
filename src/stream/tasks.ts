import type { z } from '@hono/zod-openapi'
import type { GenerationEvent, SequencedEvent } from './events'
import type { GenerationTask, ProducerContext, TaskRunner } from './hub'

/**
 * A kind of work a hub runs detached (`chat`, later others). `input` validates the task's input where it arrives
 * across a boundary (the Durable Object's RPC; `TaskRegistry.parse`): in-process hubs run what typed code built; `recover` ends the stream of a generation whose producer is gone (its process
 * crashed, its object was evicted), after finalizing whatever the task stored: persist, then announce.
 * `S` is what the task runs with (the app's Services): hubs know nothing of it.
 */
export interface TaskDefinition<S, I> {
  name: string
  /** What the task does, for GET /v1/tasks. */
  description?: string | undefined
  input: z.ZodType<I>
  run(services: S, input: I, context: ProducerContext): Promise<void>
  /** The events that end an interrupted generation's stream, given the events it had stored; the last is terminal. */
  recover?(services: S, generationId: string, events: readonly SequencedEvent[]): Promise<GenerationEvent[]>
}

export function defineTask<S, I>(definition: TaskDefinition<S, I>): TaskDefinition<S, I> {
  return definition
}

/** The tasks a set of services can run, by name. */
export interface TaskRegistry {
  has(name: string): boolean
  /** The registered tasks, in registration order. */
  list(): { name: string; description: string }[]
  /** The task, its input checked against its definition: for tasks that arrive from elsewhere (an RPC). Throws. */
  parse(task: GenerationTask): GenerationTask
  /** Runs the task to its terminal event. */
  run: TaskRunner
  /** See TaskDefinition.recover; tasks without one (or unknown) end with `generation.failed` (`interrupted`). */
  recover(task: string, generationId: string, events: readonly SequencedEvent[]): Promise<GenerationEvent[]>
}

export function interruptedEvent(generationId: string): GenerationEvent {
  return {
    type: 'generation.failed',
    data: {
      generationId,
      code: 'interrupted',
      message: 'The generation was interrupted (the server restarted) and could not be resumed',
      retryable: true,
    },
  }
}

/** A registry over `definitions`, running them with `services()` (read at run time: services are built around it). */
export function createTaskRegistry<S>(services: () => S, definitions: readonly TaskDefinition<S, any>[]): TaskRegistry {
  const byName = new Map(definitions.map((definition) => [definition.name, definition]))
  const definitionOf = (task: GenerationTask) => {
    const definition = byName.get(task.task)
    if (!definition) throw new Error(`unknown task "${task.task}"`)
    return definition
  }
  return {
    has: (name) => byName.has(name),
    list: () => definitions.map((definition) => ({ name: definition.name, description: definition.description ?? '' })),
    parse(task) {
      const parsed = definitionOf(task).input.safeParse(task.input)
      if (!parsed.success) throw new Error(`invalid input for task "${task.task}": ${parsed.error.message}`)
      return { ...task, input: parsed.data }
    },
    async run(task: GenerationTask, context: ProducerContext) {
      return definitionOf(task).run(services(), task.input, context)
    },
    async recover(task, generationId, events) {
      const recover = byName.get(task)?.recover
      return recover ? recover(services(), generationId, events) : [interruptedEvent(generationId)]
    },
  }
}
