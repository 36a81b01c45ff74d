//! The dialogue of one hand-off: MAIL, RCPT, DATA (pipelined when offered), the replies and
//! the dot-stuffed content, with the reconnect-once around it.

use std::collections::VecDeque;

use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
use lettre::transport::smtp::extension::{MailBodyParameter, MailParameter};

use super::{Abort, GATE_WAIT, Link, SmtpCore, error_text, is_421, row_outcome};
use crate::durable::gate::CommitGate;
use crate::eml;
use crate::transport::smtp_wire::{Conn, Expect, WireError};
use crate::transport::{Handoff, RowOutcome, SubmitResult, SubmitView};

impl SmtpCore {
    /// One SMTP transaction: MAIL, one RCPT per row (its reply decides the row), DATA, the
    /// message, the dot, the final reply. With `pipelining` (the server offered PIPELINING,
    /// RFC 2920) MAIL, every RCPT and DATA go out in one write and their replies are read in
    /// order, one round trip instead of one per command, as Postfix's client does; each reply
    /// means the same either way.
    fn transaction(
        conn: &mut Conn,
        pipelining: bool,
        from: &lettre::Address,
        rcpts: &[(u32, lettre::Address)],
        body: &[u8],
        gate: Option<&CommitGate>,
    ) -> Result<(Outcomes, bool), Abort> {
        // The whole transaction, MAIL to the reply after the final dot, within the message's
        // deadline.
        conn.set_message_deadline(
            std::time::Instant::now().checked_add(conn.limits().message_deadline),
        );
        let (from, rcpts, mut outcomes) = match envelope(conn.offers.smtp_utf8, from, rcpts) {
            Ok(e) if !e.1.is_empty() => e,
            Ok((_, _, refused)) | Err(refused) => return Ok((refused, false)),
        };
        let (from, rcpts) = (&from, rcpts.as_slice());
        let mut params = Vec::new();
        if !body.is_ascii() && conn.offers.eight_bit_mime {
            params.push(MailParameter::Body(MailBodyParameter::EightBitMime));
        }
        let any_utf8 =
            !from.to_string().is_ascii() || rcpts.iter().any(|(_, a)| !a.to_string().is_ascii());
        if any_utf8 && conn.offers.smtp_utf8 {
            params.push(MailParameter::SmtpUtfEight);
        }
        let mut commands = vec![(
            Mail::new(Some(from.clone()), params).to_string(),
            "MAIL FROM".to_owned(),
            Expect::Completion,
        )];
        commands.extend(rcpts.iter().map(|(_, a)| {
            (
                Rcpt::new(a.clone(), Vec::new()).to_string(),
                format!("RCPT TO:<{a}>"),
                Expect::Completion,
            )
        }));
        commands.push((Data.to_string(), "DATA".to_owned(), Expect::StartData));
        let mut replies = Replies::new(commands, pipelining);
        if let Err(e) = replies.next(conn) {
            let Some(o) = row_outcome(&e) else {
                return Err(Abort::BeforeDot(error_text(&e)));
            };
            // The sender was refused: the same answer for every recipient of the message.
            outcomes.extend(rcpts.iter().map(|(row, _)| (*row, o.clone())));
            let spent = is_421(&e) || replies.drain(conn);
            if !spent {
                reset(conn);
            }
            return Ok((outcomes, spent));
        }
        let mut accepted = Vec::new();
        for (row, _) in rcpts {
            match replies.next(conn) {
                Ok(_) => accepted.push(*row),
                Err(e) => match row_outcome(&e) {
                    // 421: the server is closing; the rows not yet answered wait for the retry.
                    Some(_) if is_421(&e) => {
                        return Err(Abort::BeforeDot(
                            "the server closed the session (421) during RCPT".into(),
                        ));
                    }
                    Some(o) => outcomes.push((*row, o)),
                    None => return Err(Abort::BeforeDot(error_text(&e))),
                },
            }
        }
        if accepted.is_empty() {
            let spent = replies.drain(conn);
            if !spent {
                reset(conn);
            }
            return Ok((outcomes, spent));
        }
        if let Err(e) = replies.next(conn) {
            let Some(o) = row_outcome(&e) else {
                return Err(Abort::BeforeDot(error_text(&e)));
            };
            outcomes.extend(accepted.iter().map(|row| (*row, o.clone())));
            if !is_421(&e) {
                reset(conn);
            }
            return Ok((outcomes, is_421(&e)));
        }
        // The point of no return: once the dot is out the server may deliver. The previous
        // hand-off's marks must be durable by then (see `durable::gate`); they were being
        // synced while MAIL, RCPT and DATA went out. Withdrawn, the connection is dropped
        // (no way out of DATA but that) and the server discards the unfinished message.
        if let Some(g) = gate
            && let Err(why) = g.wait(GATE_WAIT)
        {
            return Err(Abort::Withdrawn(format!(
                "withdrawn before the final DATA dot: {why}; nothing was delivered"
            )));
        }
        Self::message(conn, body, &accepted, outcomes)
    }

    /// After the 354 to DATA: the message, its final dot and the reply that decides the
    /// accepted rows (`outcomes` holds the others'); true with them when the connection is
    /// spent.
    fn message(
        conn: &mut Conn,
        body: &[u8],
        accepted: &[u32],
        mut outcomes: Outcomes,
    ) -> Result<(Outcomes, bool), Abort> {
        // The server answered DATA with its 354 and must now wait for the message: anything
        // it sent besides (a reply to the message before the message) is out of step.
        if let Some(why) = conn.unasked_input() {
            return Err(Abort::BeforeDot(format!("after its 354 to DATA, {why}")));
        }
        // The message and its final dot go out in one write (a small second write for the dot
        // would wait for the ACK of the first, Nagle, which the server delays because it is
        // waiting for the dot). A failed write means the dot never left; a failure after it
        // may have come after the server had the whole message.
        let data = dot_stuffed(body);
        let sent = conn.send(&data, "the message");
        let body_written = sent.is_ok();
        let after_dot = "the message (after the final dot)";
        // Only a 2yz after the dot is delivery (RFC 5321 section 4.2.1): any other positive
        // reply leaves the outcome unknown.
        let reply = sent
            .and_then(|()| conn.read_reply(after_dot))
            .and_then(|r| conn.in_step(r, after_dot, Expect::Completion));
        match reply {
            Ok(r) => {
                let text = r.text();
                outcomes.extend(
                    accepted
                        .iter()
                        .map(|row| (*row, RowOutcome::Delivered(text.clone()))),
                );
                Ok((outcomes, false))
            }
            Err(e) => {
                if let Some(o) = row_outcome(&e) {
                    outcomes.extend(accepted.iter().map(|row| (*row, o.clone())));
                    return Ok((outcomes, is_421(&e)));
                }
                if !body_written {
                    return Err(Abort::BeforeDot(error_text(&e)));
                }
                let why = format!(
                    "outcome unknown: the message was sent (final DATA dot) but no valid reply to it came ({}); the connection is closed and it will be sent again (at-least-once)",
                    error_text(&e)
                );
                outcomes.extend(
                    accepted
                        .iter()
                        .map(|row| (*row, RowOutcome::Unknown(why.clone()))),
                );
                // Rows refused at RCPT keep their answers; the link itself is gone.
                Err(Abort::AfterDot(outcomes))
            }
        }
    }
}

/// RSET after a transaction that ended early. Its reply must be a 2yz too: any other closes the
/// connection (see [`Conn::in_step`]), and a connection that failed is never used again.
fn reset(conn: &mut Conn) {
    if let Ok(r) = conn.command("RSET\r\n", "RSET") {
        let _ = conn.in_step(r, "RSET", Expect::Completion);
    }
}

/// At most this many bytes of pipelined commands are sent before their replies are read: far
/// below any socket buffer, so that neither side can block writing while the other is not
/// reading (RFC 2920 section 3.1; a message to thousands of recipients goes in batches).
const PIPELINE_BATCH: usize = 4096;

/// The replies to a transaction's MAIL, RCPTs and DATA, in order: each command is sent as its
/// reply is asked for, or (pipelined) with the ones after it, up to [`PIPELINE_BATCH`] bytes.
struct Replies {
    /// (command line, what it is called in an error, the reply it must get).
    commands: std::iter::Peekable<std::vec::IntoIter<(String, String, Expect)>>,
    pipelined: bool,
    /// Commands sent whose replies have not been read, by name, with the reply each must get.
    unread: VecDeque<(String, Expect)>,
}

impl Replies {
    fn new(commands: Vec<(String, String, Expect)>, pipelined: bool) -> Self {
        Self {
            commands: commands.into_iter().peekable(),
            pipelined,
            unread: VecDeque::new(),
        }
    }

    /// The next command's reply (sending it, or the next batch of commands, first if not yet
    /// sent). A positive reply other than the one the command must get is a protocol error
    /// (see [`Conn::in_step`]).
    fn next(&mut self, conn: &mut Conn) -> Result<crate::transport::smtp_wire::Reply, WireError> {
        if self.unread.is_empty() {
            let mut batch = String::new();
            // At least one command; pipelined, more while the batch stays small.
            while let Some((c, what, want)) = self.commands.next_if(|(c, _, _)| {
                batch.is_empty() || (self.pipelined && batch.len() + c.len() <= PIPELINE_BATCH)
            }) {
                batch.push_str(&c);
                self.unread.push_back((what, want));
            }
            let what = self
                .unread
                .front()
                .map(|(w, _)| w.clone())
                .unwrap_or_default();
            conn.send(batch.as_bytes(), &what)?;
        }
        let (what, want) = self
            .unread
            .pop_front()
            .unwrap_or((String::new(), Expect::Completion));
        let reply = conn.read_reply(&what)?;
        conn.in_step(reply, &what, want)
    }

    /// Reads the replies still due for commands already sent (the rest are never sent), after
    /// the transaction ended early (a refused sender, no recipient accepted): true if the
    /// connection is spent (it broke, the server is closing, or it accepted DATA anyway and
    /// only dropping the connection can end that without a message).
    fn drain(&mut self, conn: &mut Conn) -> bool {
        while !self.unread.is_empty() {
            // DATA is the last command: its reply is the last one due with nothing left unsent.
            let data = self.unread.len() == 1 && self.commands.peek().is_none();
            let spent = match self.next(conn) {
                Ok(_) => data,
                Err(e) => row_outcome(&e).is_none() || is_421(&e),
            };
            if spent {
                return true;
            }
        }
        false
    }
}

/// The DATA content as SMTP sends it: lines starting with a dot get a second one
/// (RFC 5321 section 4.5.2), then the terminating `CRLF . CRLF`.
pub(super) fn dot_stuffed(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + text.len() / 64 + 8);
    let mut line_start = true;
    let mut after_cr = false;
    for &b in text {
        if line_start && b == b'.' {
            out.push(b'.');
        }
        out.push(b);
        line_start = after_cr && b == b'\n';
        after_cr = b == b'\r';
    }
    out.extend_from_slice(if text.ends_with(b"\r\n") {
        b".\r\n"
    } else {
        b"\r\n.\r\n"
    });
    out
}

impl SmtpCore {
    /// One hand-off; with `gate`, its final dot waits there (background hand-offs only: on
    /// the spooler's thread the wait could never end). The hand-off carries its transcript
    /// and, once the message went out, the path of the exact bytes kept under `sent/`.
    pub(super) fn submit(&mut self, view: &SubmitView<'_>, gate: Option<&CommitGate>) -> Handoff {
        self.transcript.clear();
        self.rendered.clear();
        self.sent_on_dropped = 0;
        let mut lines = Vec::new();
        if let Some(c) = self.conn.as_mut().filter(|c| !c.has_broken()) {
            // What the line carried between hand-offs (nothing, or a QUIT that failed).
            c.transcript.take();
            c.count_messages_from_now();
            lines.push(format!(
                "(on the connection kept from an earlier message: {})",
                match &self.link {
                    Link::Up(d) => d.clone(),
                    _ => self.endpoint(),
                }
            ));
        }
        let mut h = self.submit_once(view, gate);
        // The message went out (its final dot was written) on the kept line or on one
        // dropped since.
        let handed_over =
            self.sent_on_dropped > 0 || self.conn.as_ref().is_some_and(|c| c.messages_sent() > 0);
        lines.append(&mut self.transcript);
        if let Some(c) = self.conn.as_mut() {
            lines.append(&mut c.transcript.take());
        }
        h.transcript = lines;
        if handed_over && !self.rendered.is_empty() {
            h.kept = crate::transport::keep_sent_bytes(&view.store_root, view.msg, &self.rendered);
        }
        self.rendered.clear();
        h
    }

    fn submit_once(&mut self, view: &SubmitView<'_>, gate: Option<&CommitGate>) -> Handoff {
        #[cfg(test)]
        super::tests::poison(view.msg);
        self.deliver_for_real = view.deliver_for_real;
        match self.logon_state(view.deliver_for_real) {
            Link::Unconfigured => {
                self.link = Link::Unconfigured;
                return Handoff::refused(SubmitResult::NotMe);
            }
            Link::Guarded => {
                // Never a byte to a server beyond this machine while the switch is off.
                self.drop_conn();
                self.link = Link::Guarded;
                return Handoff::refused(SubmitResult::NotMe);
            }
            _ => {
                if matches!(self.link, Link::Unconfigured | Link::Guarded) {
                    self.link = Link::Idle;
                }
            }
        }
        let (rcpts, mut outcomes) = rcpts_of(view);
        if rcpts.is_empty() {
            return Handoff::sent(outcomes);
        }
        let from: lettre::Address = match view.sender.1.parse() {
            Ok(a) => a,
            Err(e) => {
                let why = format!("the profile's sender address {:?}: {e}", view.sender.1);
                outcomes.extend(
                    rcpts
                        .iter()
                        .map(|(r, _)| (*r, RowOutcome::Failed(why.clone()))),
                );
                return Handoff::sent(outcomes);
            }
        };
        let good: Vec<u32> = rcpts.iter().map(|(r, _)| *r).collect();
        // One RCPT per mailbox: a `MAPI_P1` row and a content row for the same address are
        // one physical transmission (reference e.15); the reply decides both rows.
        let (rcpts, twins) = one_rcpt_per_mailbox(rcpts);
        self.rendered = match eml::render(view.msg, &good, &view.sender) {
            Ok(b) => b,
            Err(e) => {
                let e = e.to_string();
                outcomes.extend(good.iter().map(|r| (*r, RowOutcome::Failed(e.clone()))));
                return Handoff::sent(outcomes);
            }
        };
        // A kept connection may have been closed by the server while idle: one reconnect,
        // and only when nothing of this message has been sent yet.
        for attempt in 0..2 {
            self.check_kept_line();
            let reused = self.conn.as_ref().is_some_and(|c| !c.has_broken());
            if !reused {
                match self.connect() {
                    Ok((c, pipelining)) => {
                        self.link = Link::Up(if pipelining {
                            format!("{}, PIPELINING", self.endpoint())
                        } else {
                            self.endpoint()
                        });
                        self.conn = Some(c);
                        self.pipelining = pipelining;
                    }
                    Err(why) => {
                        let why = why.to_string();
                        self.drop_conn();
                        self.link = Link::Down(why.clone());
                        return Handoff::refused(SubmitResult::NetworkError(0, why));
                    }
                }
            }
            let Some(conn) = self.conn.as_mut() else {
                continue;
            };
            match Self::transaction(conn, self.pipelining, &from, &rcpts, &self.rendered, gate) {
                Ok((mut got, spent)) => {
                    if spent {
                        self.drop_conn();
                        self.link = Link::Idle;
                    }
                    answer_twins(&mut got, &twins);
                    outcomes.append(&mut got);
                    return Handoff::sent(outcomes);
                }
                Err(Abort::BeforeDot(why)) => {
                    self.drop_conn();
                    if reused && attempt == 0 {
                        continue;
                    }
                    self.link = Link::Down(why.clone());
                    return Handoff::refused(SubmitResult::NetworkError(0, why));
                }
                Err(Abort::Withdrawn(why)) => {
                    self.drop_conn();
                    self.link = Link::Idle;
                    return Handoff::refused(SubmitResult::NetworkError(0, why));
                }
                Err(Abort::AfterDot(mut got)) => {
                    self.drop_conn();
                    self.link = Link::Idle;
                    answer_twins(&mut got, &twins);
                    outcomes.append(&mut got);
                    return Handoff::sent(outcomes);
                }
            }
        }
        Handoff::refused(SubmitResult::NetworkError(
            0,
            format!("{}: the connection broke twice", self.endpoint()),
        ))
    }
}

impl SmtpCore {
    /// Before a transaction on a kept connection: the server must have nothing to say (see
    /// [`Conn::unasked_input`]). Input already waiting means the dialogue is out of step (or
    /// the server closed the line while idle): the connection is dropped, with the reason in
    /// the transcript, and the transaction goes on a new one.
    fn check_kept_line(&mut self) {
        let Some(c) = self.conn.as_mut().filter(|c| !c.has_broken()) else {
            return;
        };
        if let Some(why) = c.unasked_input() {
            c.transcript
                .note(&format!("({why}; closing it and connecting again)"));
            self.drop_conn();
        }
    }
}

/// Envelope recipients by row.
type Rcpts = Vec<(u32, lettre::Address)>;

/// Rows with what became of them.
type Outcomes = Vec<(u32, RowOutcome)>;

/// The envelope as this server takes it: as written where it offers SMTPUTF8 (RFC 6531, with
/// the parameter on MAIL); else ASCII only, each domain as A-labels
/// ([`eml::with_ascii_domain`]), and a recipient whose local part is not ASCII (it has no
/// ASCII form) failed alone with the reason, the others sent. Those failed rows come with the
/// envelope; `Err` when the sender's own local part is not ASCII: every row failed so.
fn envelope(
    smtp_utf8: bool,
    from: &lettre::Address,
    rcpts: &[(u32, lettre::Address)],
) -> Result<(lettre::Address, Rcpts, Outcomes), Outcomes> {
    if smtp_utf8 {
        return Ok((from.clone(), rcpts.to_vec(), Vec::new()));
    }
    let why = |a: &lettre::Address, whose: &str| {
        format!(
            "{whose} {a} has a local part that is not ASCII, and the server does not offer SMTPUTF8 (RFC 6531): there is no way to send it through this server"
        )
    };
    if !from.user().is_ascii() {
        let why = why(from, "the sender address");
        return Err(rcpts
            .iter()
            .map(|(row, _)| (*row, RowOutcome::Failed(why.clone())))
            .collect());
    }
    let mut refused = Vec::new();
    let mut ascii = Vec::with_capacity(rcpts.len());
    for (row, a) in rcpts {
        if a.user().is_ascii() {
            ascii.push((*row, eml::with_ascii_domain(a).into_owned()));
        } else {
            refused.push((*row, RowOutcome::Failed(why(a, "the address"))));
        }
    }
    Ok((eml::with_ascii_domain(from).into_owned(), ascii, refused))
}

/// The offered rows as envelope recipients, and a failed outcome for each row whose address
/// is not an Internet address.
fn rcpts_of(view: &SubmitView<'_>) -> (Rcpts, Vec<(u32, RowOutcome)>) {
    let mut outcomes = Vec::new();
    let mut rcpts = Vec::new();
    for row in &view.rows {
        let Some(r) = view.msg.recipient(*row) else {
            continue;
        };
        match r.email().parse::<lettre::Address>() {
            Ok(a) => rcpts.push((*row, a)),
            Err(e) => outcomes.push((
                *row,
                RowOutcome::Failed(format!(
                    "{:?} is not a valid Internet address: {e}",
                    r.email()
                )),
            )),
        }
    }
    (rcpts, outcomes)
}

/// The recipients with one entry per mailbox (the first row for it), and the other rows for
/// the same mailbox with the row whose reply they share.
pub(super) fn one_rcpt_per_mailbox(rcpts: Rcpts) -> (Rcpts, Vec<(u32, u32)>) {
    let mut first: std::collections::HashMap<(String, String), u32> =
        std::collections::HashMap::with_capacity(rcpts.len());
    let mut unique = Vec::with_capacity(rcpts.len());
    let mut twins = Vec::new();
    for (row, a) in rcpts {
        let key = (a.user().to_owned(), a.domain().to_ascii_lowercase());
        if let Some(&by) = first.get(&key) {
            twins.push((row, by));
        } else {
            first.insert(key, row);
            unique.push((row, a));
        }
    }
    (unique, twins)
}

/// Gives each twin row the outcome of the row whose RCPT it shared.
pub(super) fn answer_twins(outcomes: &mut Vec<(u32, RowOutcome)>, twins: &[(u32, u32)]) {
    for (row, by) in twins {
        if let Some(o) = outcomes
            .iter()
            .find(|(r, _)| r == by)
            .map(|(_, o)| o.clone())
        {
            outcomes.push((*row, o));
        }
    }
}
