import type { FileCard } from '../../protocol/files.ts';
import { errorText } from '../components/error-text.ts';
import { t, type Locale } from '../i18n/i18n.ts';
import type { LocalTransfer, ServerProgress } from '../state/file-transfers.ts';
import { durationText } from './duration-text.ts';
import { exactNumber, humanBytes, percentOf, seconds } from './format.ts';

export type FileAction = 'accept' | 'decline' | 'cancel' | 'download' | 'save' | 'retryUpload' | 'pickAgain' | 'retryDownload' | 'resumeDownload';
export type FileTone = 'waiting' | 'active' | 'success' | 'muted' | 'danger';

export interface FileProgressView {
  percent: number;
  /** "Sending…", "Receiving from alice…" */
  label: string;
  /** "1.2 MB/s · 3 s left", empty until a speed is known. */
  rate: string;
}

/** What a file card shows: one status line, maybe a progress bar, and the buttons that apply. */
export interface FileView {
  mine: boolean;
  tone: FileTone;
  status: string;
  /** A second, quieter line ("bob received it"). */
  detail?: string;
  progress?: FileProgressView;
  actions: FileAction[];
}

export interface FileViewInput {
  card: FileCard;
  myId: number;
  local: LocalTransfer | undefined;
  server: ServerProgress | undefined;
  /** The sender's tab still holds the picked file. */
  picked: boolean;
  locale: Locale;
}

/**
 * The card's state is the server's (offered … completed, declined, deleted); this tab's own
 * transfer (uploading, downloading, done, failed) refines it while the card is open or
 * completed. Final server states always win over anything local.
 */
export function fileView({ card, myId, local, server, picked, locale }: FileViewInput): FileView {
  const mine = card.from.id === myId;
  const peer = mine ? card.to.name : card.from.name;
  const reason = (code: string | undefined) => t(errorText(code), { wait: durationText(1) });
  const doneIn = (key: 'file.sentIn' | 'file.receivedIn', s: number) => t(key, { bytes: exactNumber(card.size, locale), s: seconds(s, locale) });
  const bar = (done: number, total: number, label: string, bytesPerSecond = 0): FileProgressView => ({
    percent: percentOf(done, total),
    label,
    rate: rateText(done, total, bytesPerSecond, locale),
  });

  switch (card.state) {
    case 'offered':
      return mine
        ? { mine, tone: 'waiting', status: t('file.waitingFor', { name: peer }), actions: ['cancel'] }
        : { mine, tone: 'waiting', status: t('file.wantsToSend', { name: peer }), actions: ['accept', 'decline'] };

    case 'accepted': {
      if (mine) {
        if (local?.phase === 'failed') {
          const status = t('file.uploadStopped', { reason: reason(local.error) });
          return { mine, tone: 'danger', status, actions: [picked ? 'retryUpload' : 'pickAgain', 'cancel'] };
        }
        if (local?.phase === 'checking') {
          const p = local.progress;
          return { mine, tone: 'active', status: t('file.checking'), progress: bar(p?.done ?? 0, card.size, t('file.checking')), actions: ['cancel'] };
        }
        if (local?.phase === 'uploading' || local?.phase === 'done') {
          const p = local.progress;
          const progress = bar(p?.done ?? card.received, card.size, t('file.uploading'), p?.bytesPerSecond);
          return { mine, tone: 'active', status: t('file.uploading'), progress, actions: ['cancel'] };
        }
        if (server) {
          // Another tab or device of the sender is uploading it.
          return { mine, tone: 'active', status: t('file.uploading'), progress: bar(server.received, card.size, t('file.uploading'), server.bytesPerSecond), actions: ['cancel'] };
        }
        if (picked) return { mine, tone: 'active', status: t('file.uploading'), progress: bar(0, card.size, t('file.uploading')), actions: ['cancel'] };
        const status = t('file.paused', { percent: percentOf(card.received, card.size) });
        return { mine, tone: 'waiting', status, progress: bar(card.received, card.size, status), actions: ['pickAgain', 'cancel'] };
      }
      const received = Math.max(card.received, server?.received ?? 0);
      if (received === 0 && !server) {
        return { mine, tone: 'waiting', status: t('file.waitingUpload', { name: peer }), progress: bar(0, card.size, t('file.waitingUpload', { name: peer })), actions: ['cancel'] };
      }
      const label = t('file.incoming', { name: peer });
      return { mine, tone: 'active', status: label, progress: bar(received, card.size, label, server?.bytesPerSecond), actions: ['cancel'] };
    }

    case 'completed': {
      // A finished transfer reads the same live and after a reload: its times come from the card
      // (accepted → completed by the server, → delivered to the recipient), never from this tab's
      // clock, and no full progress bar stays behind.
      const delivered = card.deliveredAt !== undefined ? t('file.delivered', { name: peer }) : undefined;
      const fromCard = (end: number | undefined) => ((end ?? card.completedAt ?? card.offeredAt) - (card.decidedAt ?? card.offeredAt)) / 1000;
      if (mine) {
        return { mine, tone: 'success', status: doneIn('file.sentIn', fromCard(card.completedAt)), detail: delivered ?? t('file.sent', { name: peer }), actions: [] };
      }
      if (local?.phase === 'downloading') {
        const p = local.progress;
        return { mine, tone: 'active', status: t('file.downloading'), progress: bar(p?.done ?? 0, card.size, t('file.downloading'), p?.bytesPerSecond), actions: [] };
      }
      if (local?.phase === 'failed') {
        return { mine, tone: 'danger', status: t('file.downloadFailed', { reason: reason(local.error) }), actions: ['retryDownload'] };
      }
      if (local?.phase === 'paused') {
        // Part of it is held in this browser from before a reload: the rest is one click away.
        const status = t('file.downloadPaused', { percent: percentOf(local.progress?.done ?? 0, card.size) });
        return { mine, tone: 'waiting', status, progress: bar(local.progress?.done ?? 0, card.size, status), actions: ['resumeDownload'] };
      }
      // Saved here, before (or without) the server's word that it was delivered.
      if (card.deliveredAt !== undefined || local?.phase === 'done') return { mine, tone: 'success', status: doneIn('file.receivedIn', fromCard(card.deliveredAt)), actions: ['save'] };
      return { mine, tone: 'success', status: t('file.ready'), actions: ['download'] };
    }

    case 'declined':
      return { mine, tone: 'muted', status: mine ? t('file.declinedByPeer', { name: peer }) : t('file.declinedByYou'), actions: [] };
    case 'cancelled':
      return { mine, tone: 'muted', status: t('file.cancelled'), actions: [] };
    case 'expired':
      return { mine, tone: 'muted', status: t('file.expired'), actions: [] };
    case 'failed':
      return { mine, tone: 'danger', status: t('file.failed', { reason: reason(card.error) }), actions: [] };
    case 'deleted':
      return { mine, tone: 'muted', status: t('file.gone'), actions: [] };
  }
}

/** "1.2 MB/s · 3 s left" */
function rateText(done: number, total: number, bytesPerSecond: number, locale: Locale): string {
  if (!(bytesPerSecond > 0) || done >= total) return '';
  const speed = t('file.speed', { size: humanBytes(bytesPerSecond, locale) });
  return `${speed} · ${t('file.left', { time: durationText((total - done) / bytesPerSecond) })}`;
}
