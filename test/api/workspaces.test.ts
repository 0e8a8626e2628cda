import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, expectProblem, type TestApp } from '../helpers'

let t: TestApp
beforeAll(async () => {
  t = await createTestApp()
})
afterAll(() => t.close())

type User = Awaited<ReturnType<TestApp['register']>>

/** Invites `user` into the workspace and has them accept: the only way to become a member. */
async function join(inviter: User, workspaceId: string, user: User, role: string) {
  const invited = await inviter.call('POST', `/v1/workspaces/${workspaceId}/members`, { body: { email: user.email, role } })
  expect(invited.status).toBe(202)
  const accepted = await user.call('POST', `/v1/me/invitations/${(await invited.json()).id}/accept`)
  expect(accepted.status).toBe(200)
}

async function teamWith(...roles: ('admin' | 'member' | 'viewer' | 'owner')[]) {
  const owner = await t.register('owner')
  const workspace = await (await owner.call('POST', '/v1/workspaces', { body: { name: 'Team' } })).json()
  const members: User[] = []
  for (const role of roles) {
    const user = await t.register(role)
    await join(owner, workspace.id, user, role)
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
    expect(workspace).toMatchObject({ name: '  Research  ', role: 'owner' })

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
  it('adds members by invitation (email matched case-insensitively) and lists them', async () => {
    const owner = await t.register()
    const friend = await t.register()
    const workspace = await (await owner.call('POST', '/v1/workspaces', { body: { name: 'Team' } })).json()
    const res = await owner.call('POST', `/v1/workspaces/${workspace.id}/members`, { body: { email: friend.email.toUpperCase() } })
    expect(res.status).toBe(202)
    const invitation = await res.json()
    expect(invitation).toEqual({
      id: expect.stringMatching(/^inv_/),
      workspace: { id: workspace.id, name: 'Team' },
      email: friend.email,
      role: 'member',
      invitedBy: { id: owner.user.id, name: expect.any(String), email: owner.email },
      createdAt: expect.any(String),
      expiresAt: expect.any(String),
    })
    expect(Date.parse(invitation.expiresAt) - Date.parse(invitation.createdAt)).toBe(7 * 24 * 60 * 60 * 1000)
    // Not a member until they accept.
    await expectProblem(await friend.call('GET', `/v1/workspaces/${workspace.id}`), 404, 'not_found')
    expect((await friend.call('POST', `/v1/me/invitations/${invitation.id}/accept`)).status).toBe(200)

    const members = await (await friend.call('GET', `/v1/workspaces/${workspace.id}/members`)).json()
    expect(members.data.map((m: { userId: string; role: string }) => [m.userId, m.role])).toEqual([
      [owner.user.id, 'owner'],
      [friend.user.id, 'member'],
    ])
    const me = await (await friend.call('GET', '/v1/me')).json()
    expect(me.workspaces).toContainEqual({ id: workspace.id, name: 'Team', role: 'member' })

    await expectProblem(await owner.call('POST', `/v1/workspaces/${workspace.id}/members`, { body: { email: friend.email } }), 409, 'conflict')
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
    await join(owner, workspace.id, second, 'owner')
    expect((await owner.call('PATCH', `${path}/${owner.user.id}`, { body: { role: 'admin' } })).status).toBe(200)
    expect((await second.call('DELETE', path.replace('/members', ''))).status).toBe(204)
  })
})

describe('invitations', () => {
  const invite = (inviter: User, workspaceId: string, email: string, role = 'member') =>
    inviter.call('POST', `/v1/workspaces/${workspaceId}/members`, { body: { email, role } })
  const ids = (page: { data: { id: string }[] }) => page.data.map((item) => item.id)

  it('answers the same whether or not the email has an account, and adds nobody', async () => {
    const { owner, workspace } = await teamWith()
    const registered = await t.register()
    const unknown = `nobody-${crypto.randomUUID()}@example.com`
    const [a, b] = [await invite(owner, workspace.id, registered.email), await invite(owner, workspace.id, unknown)]
    expect([a.status, b.status]).toEqual([202, 202])
    expect(a.headers.get('content-type')).toBe(b.headers.get('content-type'))
    const [first, second] = [await a.json(), await b.json()]
    const comparable = ({ id: _id, email: _email, createdAt: _c, expiresAt: _e, ...rest }: Record<string, unknown>) => rest
    expect(comparable(first)).toEqual(comparable(second))
    expect(Object.keys(first)).toEqual(Object.keys(second))

    const members = await (await owner.call('GET', `/v1/workspaces/${workspace.id}/members`)).json()
    expect(members.data.map((m: { userId: string }) => m.userId)).toEqual([owner.user.id])
    const pending = await (await owner.call('GET', `/v1/workspaces/${workspace.id}/invitations`)).json()
    expect(ids(pending).sort()).toEqual([first.id, second.id].sort())
  })

  it('reaches someone who registers later', async () => {
    const { owner, workspace } = await teamWith()
    const email = `later-${crypto.randomUUID().slice(0, 8)}@example.com`
    const invitation = await (await invite(owner, workspace.id, email.toUpperCase(), 'viewer')).json()
    const res = await t.request('POST', '/v1/auth/register', { body: { email, password: 'correct horse battery' } })
    const { accessToken } = await res.json()
    const mine = await (await t.request('GET', '/v1/me/invitations', { token: accessToken })).json()
    expect(mine).toEqual({ data: [invitation], nextCursor: null })
    const joined = await t.request('POST', `/v1/me/invitations/${invitation.id}/accept`, { token: accessToken })
    expect(await joined.json()).toMatchObject({ id: workspace.id, name: 'Team', role: 'viewer' })
  })

  it('the invitee sees it, accepts and becomes a member with its role; it is then gone', async () => {
    const { owner, workspace } = await teamWith()
    const invitee = await t.register()
    const invitation = await (await invite(owner, workspace.id, invitee.email, 'admin')).json()
    const mine = await (await invitee.call('GET', '/v1/me/invitations')).json()
    expect(ids(mine)).toEqual([invitation.id])
    expect(mine.data[0]).toMatchObject({ workspace: { id: workspace.id, name: 'Team' }, role: 'admin', invitedBy: { id: owner.user.id } })

    const accepted = await invitee.call('POST', `/v1/me/invitations/${invitation.id}/accept`)
    expect(accepted.status).toBe(200)
    expect(await accepted.json()).toMatchObject({ id: workspace.id, role: 'admin' })
    expect((await (await invitee.call('GET', `/v1/workspaces/${workspace.id}`)).json()).role).toBe('admin')
    expect((await (await invitee.call('GET', '/v1/me/invitations')).json()).data).toEqual([])
    expect((await (await owner.call('GET', `/v1/workspaces/${workspace.id}/invitations`)).json()).data).toEqual([])
    await expectProblem(await invitee.call('POST', `/v1/me/invitations/${invitation.id}/accept`), 404, 'not_found')
    await expectProblem(await invitee.call('POST', `/v1/me/invitations/${invitation.id}/decline`), 404, 'not_found')
  })

  it('decline deletes it and adds nobody', async () => {
    const { owner, workspace } = await teamWith()
    const invitee = await t.register()
    const invitation = await (await invite(owner, workspace.id, invitee.email)).json()
    expect((await invitee.call('POST', `/v1/me/invitations/${invitation.id}/decline`)).status).toBe(204)
    expect((await (await invitee.call('GET', '/v1/me/invitations')).json()).data).toEqual([])
    expect((await (await owner.call('GET', `/v1/workspaces/${workspace.id}/invitations`)).json()).data).toEqual([])
    await expectProblem(await invitee.call('POST', `/v1/me/invitations/${invitation.id}/accept`), 404, 'not_found')
    await expectProblem(await invitee.call('GET', `/v1/workspaces/${workspace.id}`), 404, 'not_found')
  })

  it('nobody else can see, accept or decline someone’s invitation', async () => {
    const { owner, workspace, members } = await teamWith('admin')
    const [admin] = members as [User]
    const invitee = await t.register()
    const stranger = await t.register()
    const invitation = await (await invite(admin, workspace.id, invitee.email)).json()
    for (const user of [stranger, owner, admin]) {
      expect((await (await user.call('GET', '/v1/me/invitations')).json()).data).toEqual([])
      await expectProblem(await user.call('POST', `/v1/me/invitations/${invitation.id}/accept`), 404, 'not_found')
      await expectProblem(await user.call('POST', `/v1/me/invitations/${invitation.id}/decline`), 404, 'not_found')
    }
    await expectProblem(await stranger.call('GET', `/v1/workspaces/${workspace.id}`), 404, 'not_found')
    expect(ids(await (await invitee.call('GET', '/v1/me/invitations')).json())).toEqual([invitation.id])
  })

  it('only an owner grants owner: an admin cannot invite as owner, nor revoke or rewrite an owner invitation', async () => {
    const { owner, workspace, members } = await teamWith('admin', 'member', 'viewer')
    const [admin, member, viewer] = members as [User, User, User]
    const target = `target-${crypto.randomUUID().slice(0, 8)}@example.com`
    await expectProblem(await invite(admin, workspace.id, target, 'owner'), 403, 'forbidden')
    for (const user of [member, viewer]) {
      await expectProblem(await invite(user, workspace.id, target), 403, 'forbidden')
      await expectProblem(await user.call('GET', `/v1/workspaces/${workspace.id}/invitations`), 403, 'forbidden')
    }
    expect(ids(await (await owner.call('GET', `/v1/workspaces/${workspace.id}/invitations`)).json())).toEqual([])

    const ownerInvite = await (await invite(owner, workspace.id, target, 'owner')).json()
    expect(ownerInvite.role).toBe('owner')
    await expectProblem(await invite(admin, workspace.id, target, 'member'), 403, 'forbidden')
    await expectProblem(await admin.call('DELETE', `/v1/workspaces/${workspace.id}/invitations/${ownerInvite.id}`), 403, 'forbidden')
    const pending = await (await admin.call('GET', `/v1/workspaces/${workspace.id}/invitations`)).json()
    expect(pending.data).toEqual([ownerInvite])
  })

  it('a second invitation to the same email updates the pending one', async () => {
    const { owner, workspace } = await teamWith()
    const invitee = await t.register()
    const first = await (await invite(owner, workspace.id, invitee.email, 'viewer')).json()
    const second = await (await invite(owner, workspace.id, invitee.email.toUpperCase(), 'admin')).json()
    expect(second).toMatchObject({ id: first.id, role: 'admin' })
    expect((await (await invitee.call('GET', '/v1/me/invitations')).json()).data).toEqual([second])
  })

  it('revoking deletes it: the invitee can no longer see or accept it', async () => {
    const { owner, workspace, members } = await teamWith('admin')
    const [admin] = members as [User]
    const invitee = await t.register()
    const invitation = await (await invite(owner, workspace.id, invitee.email)).json()
    const other = await (await owner.call('POST', '/v1/workspaces', { body: { name: 'Other' } })).json()
    await expectProblem(await owner.call('DELETE', `/v1/workspaces/${other.id}/invitations/${invitation.id}`), 404, 'not_found')
    expect((await admin.call('DELETE', `/v1/workspaces/${workspace.id}/invitations/${invitation.id}`)).status).toBe(204)
    await expectProblem(await admin.call('DELETE', `/v1/workspaces/${workspace.id}/invitations/${invitation.id}`), 404, 'not_found')
    expect((await (await invitee.call('GET', '/v1/me/invitations')).json()).data).toEqual([])
    await expectProblem(await invitee.call('POST', `/v1/me/invitations/${invitation.id}/accept`), 404, 'not_found')
    await expectProblem(await invitee.call('GET', `/v1/workspaces/${workspace.id}`), 404, 'not_found')
  })

  it('an expired invitation cannot be accepted; inviting again renews it', async () => {
    const { owner, workspace } = await teamWith()
    const invitee = await t.register()
    const invitation = await (await invite(owner, workspace.id, invitee.email)).json()
    await t.client.execute({ sql: 'update invitations set expires_at = ? where id = ?', args: [Date.now() - 1, invitation.id] })
    await expectProblem(await invitee.call('POST', `/v1/me/invitations/${invitation.id}/accept`), 404, 'not_found')
    expect((await (await invitee.call('GET', '/v1/me/invitations')).json()).data).toEqual([])
    expect((await (await owner.call('GET', `/v1/workspaces/${workspace.id}/invitations`)).json()).data).toEqual([])
    await expectProblem(await invitee.call('GET', `/v1/workspaces/${workspace.id}`), 404, 'not_found')

    const renewed = await (await invite(owner, workspace.id, invitee.email)).json()
    expect(renewed.id).toBe(invitation.id)
    expect((await invitee.call('POST', `/v1/me/invitations/${renewed.id}/accept`)).status).toBe(200)
  })

  it('non-members get 404 on the workspace’s invitation routes', async () => {
    const { owner, workspace } = await teamWith()
    const outsider = await t.register()
    const invitation = await (await invite(owner, workspace.id, outsider.email)).json()
    await expectProblem(await outsider.call('GET', `/v1/workspaces/${workspace.id}/invitations`), 404, 'not_found')
    await expectProblem(await outsider.call('DELETE', `/v1/workspaces/${workspace.id}/invitations/${invitation.id}`), 404, 'not_found')
    await expectProblem(await invite(outsider, workspace.id, outsider.email), 404, 'not_found')
  })

  it('API keys: a key scoped to another workspace cannot see or accept it; a key without admin cannot accept', async () => {
    const { owner, workspace } = await teamWith()
    const invitee = await t.register()
    const invitation = await (await invite(owner, workspace.id, invitee.email)).json()
    const scoped = await (await invitee.call('POST', '/v1/api-keys', { body: { name: 'scoped', workspaceId: invitee.workspace.id } })).json()
    expect((await (await t.request('GET', '/v1/me/invitations', { token: scoped.key })).json()).data).toEqual([])
    await expectProblem(await t.request('POST', `/v1/me/invitations/${invitation.id}/accept`, { token: scoped.key }), 404, 'not_found')
    const reader = await (await invitee.call('POST', '/v1/api-keys', { body: { name: 'reader', scopes: ['read'] } })).json()
    expect(ids(await (await t.request('GET', '/v1/me/invitations', { token: reader.key })).json())).toEqual([invitation.id])
    await expectProblem(await t.request('POST', `/v1/me/invitations/${invitation.id}/accept`, { token: reader.key }), 403, 'forbidden')
    await expectProblem(await invitee.call('GET', `/v1/workspaces/${workspace.id}`), 404, 'not_found')
  })

  it('deleting the workspace deletes its invitations', async () => {
    const { owner, workspace } = await teamWith()
    const invitee = await t.register()
    const invitation = await (await invite(owner, workspace.id, invitee.email)).json()
    expect((await owner.call('DELETE', `/v1/workspaces/${workspace.id}`)).status).toBe(204)
    expect((await (await invitee.call('GET', '/v1/me/invitations')).json()).data).toEqual([])
    await expectProblem(await invitee.call('POST', `/v1/me/invitations/${invitation.id}/accept`), 404, 'not_found')
  })
})
