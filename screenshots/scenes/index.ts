import type { Scene } from '../stage.ts';
import { accessibilityScene } from './accessibility.ts';
import { chatScene } from './chat.ts';
import { filesScene } from './files.ts';
import { reconnectingScene } from './reconnecting.ts';
import { roomsScene } from './rooms.ts';
import { signInScene } from './sign-in.ts';

/** Every scene `npm run screenshots` takes, in order. Add new pictures here. */
export const SCENES: readonly Scene[] = [signInScene, chatScene, filesScene, reconnectingScene, accessibilityScene, roomsScene];
