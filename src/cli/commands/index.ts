import type { Command } from '../command.ts';
import { backup } from './backup.ts';
import { exportCommand } from './export.ts';
import { migrateCommand } from './migrate.ts';
import { history } from './history.ts';
import { login } from './login.ts';
import { logout } from './logout.ts';
import { password } from './password.ts';
import { register } from './register.ts';
import { send } from './send.ts';
import { sendFile } from './send-file.ts';
import { people } from './people.ts';
import { receive } from './receive.ts';
import { restore } from './restore.ts';
import { room } from './room.ts';
import { rooms } from './rooms.ts';
import { serve } from './serve.ts';
import { tail } from './tail.ts';
import { who } from './who.ts';

/** In the order `parley --help` lists them. */
export const COMMANDS: readonly Command[] = [serve, register, login, logout, password, send, sendFile, receive, history, tail, who, rooms, room, people, backup, restore, exportCommand, migrateCommand];
