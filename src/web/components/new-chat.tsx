import { t } from '../i18n/i18n.ts';
import type { ChatStore } from '../state/chat-store.ts';
import { openConversation } from '../state/route.ts';
import { Modal } from './modal.tsx';
import { PeoplePicker } from './people-picker.tsx';

/**
 * Finds anyone on the server by the first letters of their name, online or not, and opens your
 * direct conversation with them: no one has to know an exact name.
 */
export function NewChatDialog({ store, onClose }: { store: ChatStore; onClose: () => void }) {
  return (
    <Modal id="new-chat" title={t('nav.newChatTitle')} onClose={onClose} size="medium">
      <div class="dialog-body">
        <PeoplePicker
          store={store}
          id="people-search"
          label={t('nav.newChatLabel')}
          hint={t('nav.newChatHint')}
          inline
          autofocus
          onPick={(person) => {
            onClose();
            openConversation(store.directWith(person));
          }}
        />
      </div>
    </Modal>
  );
}
