/**
 * Bounces that come back after a server accepted a notice: RFC 3464 delivery status
 * notifications (a multipart/report of report-type delivery-status), read from a file holding
 * one message (.eml) or many (an mbox), MIME parsed by mailparser. Each report names the notice
 * it is about by the Message-ID in the original message's headers (its text/rfc822-headers or
 * message/rfc822 part), the deterministic one the outbox keeps (render.ts).
 */
import { readFile } from 'node:fs/promises';
import { simpleParser, type Attachment } from 'mailparser';
import { InvalidInputError } from '../errors.ts';
import { withoutAddresses } from './send.ts';

/** RFC 3464 §2.3.3: what the reporting MTA did for a recipient. */
export const DSN_ACTIONS = ['failed', 'delayed', 'delivered', 'relayed', 'expanded'] as const;
export type DsnAction = (typeof DSN_ACTIONS)[number];

export interface DeliveryReport {
  /** The original message's Message-ID, with its angle brackets. */
  messageId: string;
  /** `failed` if any recipient failed, else the first recipient's action. */
  action: DsnAction;
  /** RFC 3463 status code of that recipient, e.g. 5.1.1. */
  status: string;
  /** Its Diagnostic-Code, without any address in it. */
  diagnostic?: string;
}

/** One message of a file: a report, or why it is not one (`at`: the file, and the message's number in an mbox). */
export type ReportReading = { at: string; report: DeliveryReport } | { at: string; problem: string };

const ORIGINAL_PARTS = new Set(['text/rfc822-headers', 'message/rfc822', 'message/global-headers', 'message/global']);
const STATUS_PARTS = new Set(['message/delivery-status', 'message/global-delivery-status']);

/** Every message in `file` (an mbox when it starts with a "From " line, else one message), as a report or a problem. */
export async function readDeliveryReports(file: string): Promise<ReportReading[]> {
  let raw: Buffer;
  try {
    raw = await readFile(file);
  } catch (err) {
    throw new InvalidInputError(`${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { file });
  }
  const messages = isMbox(raw) ? splitMbox(raw) : [raw];
  const out: ReportReading[] = [];
  for (const [i, message] of messages.entries()) {
    const at = messages.length > 1 || isMbox(raw) ? `${file} message ${i + 1}` : file;
    const parsed = await parseDeliveryReport(message);
    out.push(typeof parsed === 'string' ? { at, problem: parsed } : { at, report: parsed });
  }
  return out;
}

/** One message as a delivery report, or why it is not one. */
export async function parseDeliveryReport(message: Buffer): Promise<DeliveryReport | string> {
  // keepDeliveryStatus: the message/delivery-status part as an attachment, not folded into the text.
  const mail = await simpleParser(message, { keepDeliveryStatus: true, skipHtmlToText: true, skipTextLinks: true, skipImageLinks: true });
  const type = mail.headers.get('content-type') as { value?: string; params?: Record<string, string> } | undefined;
  if (type?.value !== 'multipart/report' || type.params?.['report-type']?.toLowerCase() !== 'delivery-status') {
    return 'not a delivery status notification (multipart/report; report-type=delivery-status)';
  }
  const statusPart = mail.attachments.find((a) => STATUS_PARTS.has(a.contentType));
  if (!statusPart) return 'no message/delivery-status part';
  const [, ...recipients] = fieldGroups(statusPart.content.toString('utf8'));
  const described = recipients.filter((r) => r.has('action') && r.has('status'));
  if (described.length === 0) return 'no recipient with an Action and a Status in the delivery-status part';
  const chosen = described.find((r) => r.get('action')!.toLowerCase() === 'failed') ?? described[0]!;
  const action = chosen.get('action')!.toLowerCase();
  if (!(DSN_ACTIONS as readonly string[]).includes(action)) return `unknown Action "${action.slice(0, 20)}"`;
  const messageId = await originalMessageId(mail.attachments);
  if (!messageId) return 'no Message-ID in the original message\'s headers (text/rfc822-headers or message/rfc822 part)';
  const diagnostic = chosen.get('diagnostic-code');
  return {
    messageId,
    action: action as DsnAction,
    status: chosen.get('status')!.split(/\s/)[0]!.slice(0, 16),
    ...(diagnostic ? { diagnostic: withoutAddresses(diagnostic) } : {}),
  };
}

async function originalMessageId(attachments: Attachment[]): Promise<string | undefined> {
  const original = attachments.find((a) => ORIGINAL_PARTS.has(a.contentType));
  if (!original) return undefined;
  const headers = await simpleParser(original.content, { skipHtmlToText: true });
  const id = headers.messageId?.trim();
  if (!id) return undefined;
  return id.startsWith('<') ? id : `<${id}>`;
}

/** RFC 3464 §2.1: groups of header-style fields separated by blank lines; names lower-cased, folded lines joined. */
function fieldGroups(text: string): Array<Map<string, string>> {
  const groups: Array<Map<string, string>> = [];
  let current = new Map<string, string>();
  let last: string | undefined;
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '') {
      if (current.size > 0) groups.push(current);
      current = new Map();
      last = undefined;
    } else if (/^[ \t]/.test(line) && last) {
      current.set(last, `${current.get(last)} ${line.trim()}`);
    } else {
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      last = line.slice(0, colon).trim().toLowerCase();
      current.set(last, line.slice(colon + 1).trim());
    }
  }
  if (current.size > 0) groups.push(current);
  return groups;
}

function isMbox(raw: Buffer): boolean {
  return raw.subarray(0, 5).toString('latin1') === 'From ';
}

/** An mbox (mboxrd or mboxo): messages start at a "From " line; ">From " lines in them are unquoted once. */
function splitMbox(raw: Buffer): Buffer[] {
  const text = raw.toString('latin1');
  const messages: Buffer[] = [];
  for (const chunk of text.split(/^From [^\n]*\n/m)) {
    if (chunk.trim() === '') continue;
    messages.push(Buffer.from(chunk.replace(/^>(>*From )/gm, '$1'), 'latin1'));
  }
  return messages;
}
