/**
 * Delivery status notifications (RFC 3464) shaped as real MTAs send them, for bounce tests:
 * Postfix's (the original headers as text/rfc822-headers) and Exim's or Exchange's (the whole
 * original message as message/rfc822).
 */

/** As Postfix writes one: the original message's headers as text/rfc822-headers. */
export function postfixDsn(messageId: string, status = '5.1.1', action = 'failed'): string {
  return `Return-Path: <>
From: MAILER-DAEMON@mx.example.net (Mail Delivery System)
To: notices@notices.test.example
Subject: Undelivered Mail Returned to Sender
Date: Mon, 30 Nov 2026 03:00:00 +0000 (UTC)
Message-Id: <20261130030000.4F2A1C0@mx.example.net>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="4F2A1C0.1796000000/mx.example.net"

This is a MIME-encapsulated message.

--4F2A1C0.1796000000/mx.example.net
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.example.net.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<person7@mail.example>: host mail.example[192.0.2.7] said: 550 5.1.1
    <person7@mail.example>: Recipient address rejected: User unknown

--4F2A1C0.1796000000/mx.example.net
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net
X-Postfix-Queue-ID: 4F2A1C0
Arrival-Date: Mon, 30 Nov 2026 02:59:58 +0000 (UTC)

Final-Recipient: rfc822; person7@mail.example
Original-Recipient: rfc822;person7@mail.example
Action: ${action}
Status: ${status}
Remote-MTA: dns; mail.example
Diagnostic-Code: smtp; 550 5.1.1 <person7@mail.example>: Recipient address
    rejected: User unknown in virtual mailbox table

--4F2A1C0.1796000000/mx.example.net
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

From: "Example Marketplace Europe Ltd" <notices@notices.test.example>
To: person7@mail.example
Subject: Important: your data
Message-ID: ${messageId}
Date: Mon, 30 Nov 2026 02:59:57 +0000

--4F2A1C0.1796000000/mx.example.net--
`;
}

/** As Exim or Exchange send one: the whole original message as message/rfc822. */
export function rfc822Dsn(messageId: string): string {
  return `From: Mail Delivery Subsystem <postmaster@relay.example.org>
To: notices@notices.test.example
Subject: Delivery Status Notification (Failure)
Message-ID: <dsn-2@relay.example.org>
MIME-Version: 1.0
Content-Type: multipart/report; report-type="delivery-status"; boundary="b2"

--b2
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: quoted-printable

Delivery to the following recipient failed permanently: person8@mail.example

--b2
Content-Type: message/delivery-status

Reporting-MTA: dns; relay.example.org

Final-Recipient: rfc822; person8@mail.example
Action: failed
Status: 5.2.2
Diagnostic-Code: smtp; 552 5.2.2 Mailbox full

--b2
Content-Type: message/rfc822

From: "Example Marketplace UK Ltd" <notices@notices.test.example>
To: person8@mail.example
Subject: =?UTF-8?B?SW1wb3J0YW50?=
Message-ID: ${messageId}
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Dear customer, …
--b2--
`;
}
