import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, expectProblem, type TestApp } from '../helpers'

let t: TestApp
beforeAll(async () => {
  t = await createTestApp()
})
afterAll(() => t.close())

type User = Awaited<ReturnType<TestApp['register']>>

async function teamWith(...roles: ('admin' | 'member' | 'viewer' | 'owner')[]) {
  const owner = await t.register('owner')
  const workspace = await (await owner.call('POST', '/v1/workspaces', { body: { name: 'Team' } })).json()
  const members: User[] = []
  for (const role of roles) {
    const user = await t.register(role)
    const res = await owner.call('POST', `/v1/workspaces/${workspace.id}/members`, { body: { email: user.email, role } })
    expect(res.status).toBe(201)
    members.push(user)
  }
  return { owner, workspace, members }
}

describe('workspaces', () => {
  it('creates, lists, gets, renames and deletes', async () => {
    const user = await t.register()
    const res = await user.call('POST', '/v1/workspaces', { body: { name: '  Research  ' } })
    expect(res.status).toBe(201)
    const workspace = await res.json()
    expect(workspace).toMatchObject({ name: 'Research', role: 'owner' })

    const list = await (await user.call('GET', '/v1/workspaces')).json()
    expect(list.data.map((w: { id: string }) => w.id)).toEqual([user.workspace.id, workspace.id])

    expect(await (await user.call('GET', `/v1/workspaces/${workspace.id}`)).json()).toEqual(workspace)
    const renamed = await user.call('PATCH', `/v1/workspaces/${workspace.id}`, { body: { name: 'R&D' } })
    expect((await renamed.json()).name).toBe('R&D')

    expect((await user.call('DELETE', `/v1/workspaces/${workspace.id}`)).status).toBe(204)
    await expectProblem(await user.call('GET', `/v1/workspaces/${workspace.id}`), 404, 'not_found')
    const memberships = await t.client.execute({ sql: 'select count(*) as n from memberships where workspace_id = ?', args: [workspace.id] })
    expect(Number(memberships.rows[0]!.n)).toBe(0)
  })

  it('keeps the personal workspace', async () => {
    const user = await t.register()
    await expectProblem(await user.call('DELETE', `/v1/workspaces/${user.workspace.id}`), 409, 'conflict')
  })

  it('hides workspaces from non-members with 404, not 403', async () => {
    const alice = await t.register()
    const bob = await t.register()
    await expectProblem(await bob.call('GET', `/v1/workspaces/${alice.workspace.id}`), 404, 'not_found')
    await expectProblem(await bob.call('PATCH', `/v1/workspaces/${alice.workspace.id}`, { body: { name: 'x' } }), 404, 'not_found')
    await expectProblem(await bob.call('DELETE', `/v1/workspaces/${alice.workspace.id}`), 404, 'not_found')
    await expectProblem(await bob.call('GET', `/v1/workspaces/${alice.workspace.id}/members`), 404, 'not_found')
    await expectProblem(await bob.call('POST', `/v1/workspaces/${alice.workspace.id}/members`, { body: { email: bob.email } }), 404, 'not_found')
    await expectProblem(await bob.call('DELETE', `/v1/workspaces/${alice.workspace.id}/members/${alice.user.id}`), 404, 'not_found')
    await expectProblem(await bob.call('GET', '/v1/workspaces/ws_nonexistent'), 404, 'not_found')
  })

  it('validates names', async () => {
    const user = await t.register()
    for (const body of [{}, { name: '' }, { name: '   ' }, { name: 'x'.repeat(201) }, { name: 42 }]) {
      await expectProblem(await user.call('POST', '/v1/workspaces', { body }), 400, 'validation_failed')
    }
  })
})

describe('members and roles', () => {
  it('adds members by email (case-insensitive) and lists them', async () => {
    const owner = await t.register()
    const friend = await t.register()
    const workspace = await (await owner.call('POST', '/v1/workspaces', { body: { name: 'Team' } })).json()
    const res = await owner.call('POST', `/v1/workspaces/${workspace.id}/members`, { body: { email: friend.email.toUpperCase() } })
    expect(res.status).toBe(201)
    expect(await res.json()).toMatchObject({ userId: friend.user.id, email: friend.email, role: 'member' })

    const members = await (await friend.call('GET', `/v1/workspaces/${workspace.id}/members`)).json()
    expect(members.data.map((m: { userId: string; role: string }) => [m.userId, m.role])).toEqual([
      [owner.user.id, 'owner'],
      [friend.user.id, 'member'],
    ])
    const me = await (await friend.call('GET', '/v1/me')).json()
    expect(me.workspaces).toContainEqual({ id: workspace.id, name: 'Team', role: 'member' })

    await expectProblem(await owner.call('POST', `/v1/workspaces/${workspace.id}/members`, { body: { email: friend.email } }), 409, 'conflict')
    await expectProblem(await owner.call('POST', `/v1/workspaces/${workspace.id}/members`, { body: { email: 'ghost@example.com' } }), 404, 'not_found')
    await expectProblem(await owner.call('POST', `/v1/workspaces/${workspace.id}/members`, { body: { email: friend.email, role: 'superuser' } }), 400, 'validation_failed')
  })

  it('enforces owner > admin > member > viewer', async () => {
    const { owner, workspace, members } = await teamWith('admin', 'member', 'viewer')
    const [admin, member, viewer] = members as [User, User, User]
    const outsider = await t.register()
    const path = `/v1/workspaces/${workspace.id}`

    // Everyone in the workspace can read it and its members.
    for (const user of [admin, member, viewer]) {
      expect((await user.call('GET', path)).status).toBe(200)
      expect((await user.call('GET', `${path}/members`)).status).toBe(200)
    }
    // Renaming and adding members need admin.
    for (const user of [member, viewer]) {
      await expectProblem(await user.call('PATCH', path, { body: { name: 'x' } }), 403, 'forbidden')
      await expectProblem(await user.call('POST', `${path}/members`, { body: { email: outsider.email } }), 403, 'forbidden')
      await expectProblem(await user.call('PATCH', `${path}/members/${viewer.user.id}`, { body: { role: 'member' } }), 403, 'forbidden')
    }
    expect((await admin.call('PATCH', path, { body: { name: 'Renamed' } })).status).toBe(200)
    expect((await admin.call('PATCH', `${path}/members/${viewer.user.id}`, { body: { role: 'member' } })).status).toBe(200)
    // Only owners delete, and only owners touch the owner role.
    await expectProblem(await admin.call('DELETE', path), 403, 'forbidden')
    await expectProblem(await admin.call('POST', `${path}/members`, { body: { email: outsider.email, role: 'owner' } }), 403, 'forbidden')
    await expectProblem(await admin.call('PATCH', `${path}/members/${member.user.id}`, { body: { role: 'owner' } }), 403, 'forbidden')
    await expectProblem(await admin.call('PATCH', `${path}/members/${owner.user.id}`, { body: { role: 'viewer' } }), 403, 'forbidden')
    await expectProblem(await admin.call('DELETE', `${path}/members/${owner.user.id}`), 403, 'forbidden')
    // Admins remove members.
    expect((await admin.call('DELETE', `${path}/members/${member.user.id}`)).status).toBe(204)
    await expectProblem(await member.call('GET', path), 404, 'not_found')
    await expectProblem(await admin.call('PATCH', `${path}/members/${member.user.id}`, { body: { role: 'viewer' } }), 404, 'not_found')
  })

  it('keeps at least one owner; a member can leave', async () => {
    const { owner, workspace, members } = await teamWith('viewer')
    const [viewer] = members as [User]
    const path = `/v1/workspaces/${workspace.id}/members`
    await expectProblem(await owner.call('DELETE', `${path}/${owner.user.id}`), 409, 'conflict')
    await expectProblem(await owner.call('PATCH', `${path}/${owner.user.id}`, { body: { role: 'admin' } }), 409, 'conflict')

    expect((await viewer.call('DELETE', `${path}/${viewer.user.id}`)).status).toBe(204)
    await expectProblem(await viewer.call('GET', `/v1/workspaces/${workspace.id}`), 404, 'not_found')

    // With a second owner, the first may step down.
    const second = await t.register()
    expect((await owner.call('POST', path, { body: { email: second.email, role: 'owner' } })).status).toBe(201)
    expect((await owner.call('PATCH', `${path}/${owner.user.id}`, { body: { role: 'admin' } })).status).toBe(200)
    expect((await second.call('DELETE', path.replace('/members', ''))).status).toBe(204)
  })
})
