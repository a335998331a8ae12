"""Sample payloads of Postmark's webhooks, as Postmark posts them (trimmed of the
longer client and geo details), keyed by ``RecordType``."""

from __future__ import annotations

_MESSAGE_ID = "883953f4-6105-42a2-a16a-77a8eac79483"
_CLIENT = {"Name": "Chrome 120.0", "Company": "Google", "Family": "Chrome"}
_OS = {"Name": "macOS 14", "Company": "Apple Inc.", "Family": "OS X"}
_GEO = {"CountryISOCode": "DE", "Country": "Germany", "City": "Berlin", "IP": "192.0.2.10"}

PAYLOADS: dict[str, dict] = {
    "Delivery": {
        "RecordType": "Delivery", "ServerID": 23, "MessageStream": "outbound", "MessageID": _MESSAGE_ID,
        "Recipient": "john@example.com", "Tag": "welcome-email", "DeliveredAt": "2024-02-21T16:34:52Z",
        "Details": "Test delivery webhook details", "Metadata": {"order_id": "1234"},
    },
    "Bounce": {
        "RecordType": "Bounce", "MessageStream": "outbound", "ID": 692560173, "Type": "HardBounce", "TypeCode": 1,
        "Name": "Hard bounce", "Tag": "welcome-email", "MessageID": _MESSAGE_ID, "Metadata": {"order_id": "1234"},
        "ServerID": 23, "Description": "The server was unable to deliver your message (ex: unknown user, mailbox not found).",
        "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
        "Email": "john@example.com", "From": "sender@example.com", "BouncedAt": "2024-02-21T16:33:54Z",
        "DumpAvailable": True, "Inactive": True, "CanActivate": True, "Subject": "Welcome!",
    },
    "SpamComplaint": {
        "RecordType": "SpamComplaint", "MessageStream": "outbound", "ID": 692560174, "Type": "SpamComplaint",
        "TypeCode": 512, "Name": "Spam complaint", "Tag": "newsletter", "MessageID": _MESSAGE_ID, "Metadata": {},
        "ServerID": 23, "Description": "The subscriber explicitly marked this message as spam.",
        "Details": "Test spam complaint details", "Email": "john@example.com", "From": "sender@example.com",
        "BouncedAt": "2024-02-21T16:40:00Z", "DumpAvailable": True, "Inactive": True, "CanActivate": False,
        "Subject": "Our March newsletter",
    },
    "Open": {
        "RecordType": "Open", "MessageStream": "outbound", "FirstOpen": True, "Client": _CLIENT, "OS": _OS,
        "Platform": "Desktop", "UserAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0)", "Geo": _GEO,
        "MessageID": _MESSAGE_ID, "Metadata": {}, "ReceivedAt": "2024-02-21T17:02:11Z", "Tag": "welcome-email",
        "Recipient": "john@example.com",
    },
    "Click": {
        "RecordType": "Click", "MessageStream": "outbound", "ClickLocation": "HTML", "Client": _CLIENT, "OS": _OS,
        "Platform": "Desktop", "UserAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0)",
        "OriginalLink": "https://example.com/start", "Geo": _GEO, "MessageID": _MESSAGE_ID, "Metadata": {},
        "ReceivedAt": "2024-02-21T17:03:40Z", "Tag": "welcome-email", "Recipient": "john@example.com",
    },
    "SubscriptionChange": {
        "RecordType": "SubscriptionChange", "MessageID": _MESSAGE_ID, "ServerID": 23, "MessageStream": "outbound",
        "ChangedAt": "2024-02-21T18:00:00Z", "Recipient": "john@example.com", "Origin": "Recipient",
        "SuppressSending": True, "SuppressionReason": "ManualSuppression", "Tag": "newsletter", "Metadata": {},
    },
    "Inbound": {
        "FromName": "Ada Lovelace", "MessageStream": "inbound", "From": "ada@example.com",
        "FromFull": {"Email": "ada@example.com", "Name": "Ada Lovelace", "MailboxHash": ""},
        "To": "support+ticket-42@inbound.example.com",
        "ToFull": [{"Email": "support+ticket-42@inbound.example.com", "Name": "", "MailboxHash": "ticket-42"}],
        "Cc": "", "CcFull": [], "Bcc": "", "BccFull": [], "OriginalRecipient": "support+ticket-42@inbound.example.com",
        "Subject": "Re: Your ticket #42", "MessageID": "cc5361a6-4e2d-4e56-a6e3-9b2ae8a3b8e0", "ReplyTo": "",
        "MailboxHash": "ticket-42", "Date": "Wed, 21 Feb 2024 16:45:32 +0100", "TextBody": "Thanks, that fixed it.",
        "HtmlBody": "<p>Thanks, that fixed it.</p>", "StrippedTextReply": "Thanks, that fixed it.", "Tag": "",
        "Headers": [{"Name": "X-Spam-Status", "Value": "No"}], "Attachments": [],
    },
}

#: Words in a receiver's path that name one kind of webhook.
WORDS: dict[str, str] = {
    "delivery": "Delivery", "delivered": "Delivery", "deliveries": "Delivery",
    "bounce": "Bounce", "bounces": "Bounce", "bounced": "Bounce",
    "spam": "SpamComplaint", "complaint": "SpamComplaint", "spamcomplaint": "SpamComplaint",
    "open": "Open", "opens": "Open", "opened": "Open",
    "click": "Click", "clicks": "Click", "clicked": "Click",
    "subscription": "SubscriptionChange", "unsubscribe": "SubscriptionChange", "subscriptionchange": "SubscriptionChange",
    "inbound": "Inbound", "incoming": "Inbound", "reply": "Inbound", "replies": "Inbound",
}
