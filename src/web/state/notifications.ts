import { signal } from '@preact/signals';

const KEY = 'parley.notify';
export type NotifyState = 'unsupported' | 'denied' | 'off' | 'on';

function current(): NotifyState {
  if (typeof Notification === 'undefined') return 'unsupported';
  if (Notification.permission === 'denied') return 'denied';
  return Notification.permission === 'granted' && localStorage.getItem(KEY) === '1' ? 'on' : 'off';
}

/** Desktop notifications for direct messages: opt-in, remembered per browser. */
export const notifyState = signal<NotifyState>(current());

export async function toggleNotifications(): Promise<void> {
  if (notifyState.value === 'on') {
    localStorage.setItem(KEY, '0');
    notifyState.value = 'off';
    return;
  }
  if (notifyState.value !== 'off') return;
  const permission = await Notification.requestPermission();
  if (permission === 'granted') localStorage.setItem(KEY, '1');
  notifyState.value = current();
}

/** Shows a notification when the tab is hidden; clicking it brings the conversation forward. */
export function notify(title: string, body: string, tag: string, onClick: () => void): void {
  if (notifyState.value !== 'on' || document.visibilityState === 'visible') return;
  const notification = new Notification(title, { body, tag, icon: '/icons/icon-192.png' });
  notification.onclick = () => {
    window.focus();
    onClick();
    notification.close();
  };
}
