import type { Part } from './parts'

/** Collects an answer's streamed content blocks into message parts, by block index. */
export class PartsBuilder {
  private readonly blocks = new Map<number, Part & { inputJson?: string }>()

  text(index: number, text: string) {
    const block = this.blocks.get(index)
    if (block?.type === 'text') block.text += text
    else this.blocks.set(index, { type: 'text', text })
  }

  reasoning(index: number, text = '', signature?: string) {
    const block = this.blocks.get(index)
    if (block?.type === 'reasoning') {
      block.text += text
      if (signature) block.signature = (block.signature ?? '') + signature
    } else this.blocks.set(index, { type: 'reasoning', text, ...(signature ? { signature } : {}) })
  }

  toolStart(index: number, toolUseId: string, name: string) {
    this.blocks.set(index, { type: 'tool_call', toolUseId, name, input: {}, inputJson: '' })
  }

  toolInput(index: number, json: string) {
    const block = this.blocks.get(index)
    if (block?.type === 'tool_call') block.inputJson = (block.inputJson ?? '') + json
  }

  /** Closes a tool block, parsing its accumulated input; returns it for the tool.call event. */
  toolStop(index: number): Extract<Part, { type: 'tool_call' }> | null {
    const block = this.blocks.get(index)
    if (block?.type !== 'tool_call') return null
    try {
      block.input = block.inputJson ? JSON.parse(block.inputJson) : {}
    } catch {
      block.input = { raw: block.inputJson }
    }
    delete block.inputJson
    return block
  }

  /** The index after the last block: where another model call's blocks start, so steps never overwrite each other. */
  get nextIndex(): number {
    let last = -1
    for (const index of this.blocks.keys()) if (index > last) last = index
    return last + 1
  }

  /** Appends a whole part (a tool's result) after the blocks so far. */
  add(part: Part) {
    this.blocks.set(this.nextIndex, part)
  }

  get empty(): boolean {
    return this.blocks.size === 0
  }

  parts(): Part[] {
    return [...this.blocks.entries()]
      .sort(([a], [b]) => a - b)
      .map(([, block]) => {
        if (block.type !== 'tool_call' || block.inputJson === undefined) return block
        const { inputJson: _, ...part } = block
        return part
      })
  }
}
