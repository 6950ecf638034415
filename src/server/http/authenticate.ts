import type { FastifyRequest } from 'fastify';
import type { UserRef } from '../../protocol/index.ts';
import type { Accounts } from '../accounts/accounts.ts';
import { ParleyError } from '../errors.ts';
import { sessionTokenOf } from '../edge/credentials.ts';

/** The signed-in user of a request, or UNAUTHENTICATED. */
export async function requireUser(accounts: Accounts, request: FastifyRequest): Promise<{ user: UserRef; token: string }> {
  const token = sessionTokenOf(request.headers);
  const user = token ? await accounts.authenticate(token) : null;
  if (!token || !user) throw new ParleyError('UNAUTHENTICATED');
  return { user, token };
}
