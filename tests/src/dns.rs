//! A real DNS server for the tests: hickory-server in-process on loopback,
//! UDP and TCP on one port, answering TXT queries from a table the test edits
//! while it runs. Pointing Tenantry's resolver at it means its lookups go over
//! the wire as they would in production, and a test can publish or withdraw a
//! record between two calls.
//!
//! [`shared`] is the one server every `TestApp` points at; a test that
//! wants a table of its own starts a [`DnsServer`] and uses [`DnsServer::set_txt`].

use std::{
    collections::HashMap,
    net::{Ipv4Addr, SocketAddr},
    sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError, mpsc},
    thread,
    time::Duration,
};

use futures::future::BoxFuture;
use hickory_proto::{
    op::{Edns, Header, HeaderCounts, LowerQuery, Metadata, OpCode, ResponseCode},
    rr::{Name, RData, Record, RecordType, rdata::TXT},
};
use hickory_server::{
    Server,
    net::runtime::Time,
    server::{Request, RequestHandler, ResponseHandler, ResponseInfo},
    zone_handler::MessageResponseBuilder,
};
use tokio::net::{TcpListener, UdpSocket};

/// The TXT values of each name, keyed by its fully-qualified form; `Name`
/// compares and hashes without regard to case, as DNS does.
type Table = Arc<Mutex<HashMap<Name, Vec<String>>>>;

/// TTL of every answer: 0 so no resolver caches a value the test may change.
const TTL: u32 = 0;

/// Fresh UDP ports to try before giving up on one whose TCP twin is free.
const BIND_ATTEMPTS: usize = 50;

/// How long a TCP client may stay silent before the server hangs up.
const TCP_TIMEOUT: Duration = Duration::from_secs(10);

/// Responses queued per TCP connection (what hickory's own tests use).
const TCP_RESPONSE_BUFFER: usize = 32;

/// An authoritative DNS server on 127.0.0.1 (UDP and TCP on the same port),
/// answering TXT queries from a table the test changes while it runs.
///
/// A name with TXT records gets NOERROR and those records; any other type
/// asked of it, NOERROR and no answers; a name without records, NXDOMAIN.
/// Dropping it shuts the server down.
pub struct DnsServer {
    addr: SocketAddr,
    table: Table,
    server: Server<TxtHandler>,
}

impl DnsServer {
    /// Starts the server on a free loopback port.
    pub async fn start() -> Self {
        let (udp, tcp) = bind_pair().await;
        let addr = udp
            .local_addr()
            .unwrap_or_else(|e| panic!("reading the DNS server's UDP address: {e}"));
        let table = Table::default();
        let mut server = Server::new(TxtHandler {
            table: Arc::clone(&table),
        });
        server.register_socket(udp);
        server.register_listener(tcp, TCP_TIMEOUT, TCP_RESPONSE_BUFFER);
        Self {
            addr,
            table,
            server,
        }
    }

    /// Where to send queries, over UDP or TCP.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Sets the TXT records of `name` (e.g. "_tenantry-challenge.acme.test"),
    /// replacing any; an empty list removes them.
    pub fn set_txt(&self, name: &str, values: &[&str]) {
        let name = fqdn(name);
        let mut table = lock(&self.table);
        if values.is_empty() {
            table.remove(&name);
        } else {
            table.insert(name, values.iter().map(|v| (*v).to_owned()).collect());
        }
    }

    /// Adds `value` to the TXT records of `name`, keeping the others: on the
    /// [`shared`] server, tests running at once may publish under the same
    /// name (every test's organization is "acme"), and must not withdraw
    /// each other's records.
    pub fn publish(&self, name: &str, value: &str) {
        let mut table = lock(&self.table);
        let values = table.entry(fqdn(name)).or_default();
        if !values.iter().any(|v| v == value) {
            values.push(value.to_owned());
        }
    }
}

/// The server every `TestApp` is configured with, started on first use.
///
/// It runs on a thread and runtime of its own, because each `#[tokio::test]`
/// has its own runtime and would take the server down when it ends. Tests
/// share it, so they add records with [`DnsServer::publish`] and never
/// withdraw them.
pub fn shared() -> &'static DnsServer {
    static SHARED: OnceLock<DnsServer> = OnceLock::new();
    SHARED.get_or_init(start_on_own_thread)
}

/// Starts a server on a new thread that keeps its runtime alive for the
/// rest of the process, and hands the server back.
fn start_on_own_thread() -> DnsServer {
    let (sender, receiver) = mpsc::channel();
    thread::Builder::new()
        .name("test-dns".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap_or_else(|e| panic!("building the DNS server's runtime: {e}"));
            runtime.block_on(async {
                // The receiver only goes away if the caller panicked.
                let _ = sender.send(DnsServer::start().await);
                std::future::pending::<()>().await;
            });
        })
        .unwrap_or_else(|e| panic!("spawning the DNS server's thread: {e}"));
    receiver
        .recv()
        .expect("the DNS server's thread panicked while starting (see its output)")
}

impl Drop for DnsServer {
    /// Tells the listeners to stop; dropping `server` right after aborts
    /// whatever is still running, which closes the sockets.
    fn drop(&mut self) {
        self.server.shutdown_token().cancel();
    }
}

/// Binds UDP on any free loopback port, then TCP on the same number. The
/// kernel only promised the UDP port, so when something else holds the TCP
/// one, start over with a fresh UDP port.
async fn bind_pair() -> (UdpSocket, TcpListener) {
    let mut last_error = None;
    for _ in 0..BIND_ATTEMPTS {
        let udp = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))
            .await
            .unwrap_or_else(|e| panic!("binding a loopback UDP socket for the DNS server: {e}"));
        let port = udp
            .local_addr()
            .unwrap_or_else(|e| panic!("reading the DNS server's UDP address: {e}"))
            .port();
        match TcpListener::bind((Ipv4Addr::LOCALHOST, port)).await {
            Ok(tcp) => return (udp, tcp),
            Err(e) => last_error = Some(e),
        }
    }
    panic!(
        "no loopback port was free for both UDP and TCP in {BIND_ATTEMPTS} tries \
         (last error: {last_error:?})"
    )
}

/// Parses a name as a test writes it, with or without the final dot, into
/// the fully-qualified form names arrive in off the wire.
fn fqdn(name: &str) -> Name {
    let mut parsed =
        Name::from_ascii(name).unwrap_or_else(|e| panic!("{name:?} is not a DNS name: {e}"));
    parsed.set_fqdn(true);
    parsed
}

/// Locks the table, ignoring poison: a test that panicked while holding it
/// left it whole (every write is a single insert or remove).
fn lock(table: &Table) -> MutexGuard<'_, HashMap<Name, Vec<String>>> {
    table.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What hickory's `Server` calls for each request: answers from the table.
struct TxtHandler {
    table: Table,
}

impl RequestHandler for TxtHandler {
    // The trait is declared with `#[async_trait]`; this is the signature the
    // macro gives it, written out so this crate needs no async-trait.
    fn handle_request<'s, 'r, 'f, R, T>(
        &'s self,
        request: &'r Request,
        response_handle: R,
    ) -> BoxFuture<'f, ResponseInfo>
    where
        R: 'f + ResponseHandler,
        T: 'f + Time,
        's: 'f,
        'r: 'f,
        Self: 'f,
    {
        Box::pin(respond(&self.table, request, response_handle))
    }
}

/// Sends the one response `request` gets: the lookup's answer for a single
/// standard query, NOTIMP for other operations, FORMERR for several questions.
async fn respond<R: ResponseHandler>(
    table: &Table,
    request: &Request,
    mut handle: R,
) -> ResponseInfo {
    let edns = request.edns.as_ref().map(response_edns);
    let builder = MessageResponseBuilder::new(&request.queries, edns.as_ref());
    let sent = if request.metadata.op_code != OpCode::Query {
        let response = builder.error_msg(&request.metadata, ResponseCode::NotImp);
        handle.send_response(response).await
    } else if let Ok(info) = request.request_info() {
        let (code, answers) = lookup(table, info.query);
        let mut metadata = Metadata::response_from_request(&request.metadata);
        metadata.authoritative = true;
        metadata.response_code = code;
        let response = builder.build(metadata, &answers, [], [], []);
        handle.send_response(response).await
    } else {
        let response = builder.error_msg(&request.metadata, ResponseCode::FormErr);
        handle.send_response(response).await
    };
    // The server ignores this value; a client that got nothing times out.
    sent.unwrap_or_else(|_| serve_failed(request))
}

/// The answer to one question, from the table as it is now.
fn lookup(table: &Table, query: &LowerQuery) -> (ResponseCode, Vec<Record>) {
    // The original keeps the question's case, which the answer must echo
    // for resolvers that randomise it (DNS 0x20).
    let name = query.original().name();
    let table = lock(table);
    let Some(values) = table.get(name) else {
        return (ResponseCode::NXDomain, Vec::new());
    };
    if query.query_type() != RecordType::TXT {
        return (ResponseCode::NoError, Vec::new());
    }
    let answers = values
        .iter()
        .map(|value| Record::from_rdata(name.clone(), TTL, RData::TXT(txt(value))))
        .collect();
    (ResponseCode::NoError, answers)
}

/// One TXT record holding `value`, cut into the 255-byte strings the wire
/// format allows, as zone files do with long values (DKIM keys).
fn txt(value: &str) -> TXT {
    let bytes = value.as_bytes();
    if bytes.is_empty() {
        return TXT::from_bytes(vec![bytes]);
    }
    TXT::from_bytes(bytes.chunks(255).collect())
}

/// The OPT record a request with one must get back (RFC 6891 §6.1.1).
fn response_edns(request: &Edns) -> Edns {
    let mut edns = Edns::new();
    edns.set_max_payload(request.max_payload().max(512));
    edns.set_version(0);
    edns
}

/// What to report when the response could not be sent.
fn serve_failed(request: &Request) -> ResponseInfo {
    let mut metadata = Metadata::response_from_request(&request.metadata);
    metadata.response_code = ResponseCode::ServFail;
    Header {
        metadata,
        counts: HeaderCounts::default(),
    }
    .into()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use hickory_proto::{
        op::{Message, Query, ResponseCode},
        rr::{Name, RData, RecordType},
    };
    use tokio::{
        io::{AsyncReadExt as _, AsyncWriteExt as _},
        net::{TcpStream, UdpSocket},
        time::timeout,
    };

    use super::{DnsServer, shared};

    /// Long enough for a loaded machine, short enough to fail fast.
    const REPLY_TIMEOUT: Duration = Duration::from_secs(5);

    fn query(name: &str, kind: RecordType) -> Vec<u8> {
        let name = Name::from_ascii(name).expect("a valid name");
        let mut message = Message::query();
        message.add_query(Query::query(name, kind));
        message.to_vec().expect("an encodable query")
    }

    async fn ask_udp(dns: &DnsServer, name: &str, kind: RecordType) -> Message {
        let socket = UdpSocket::bind("127.0.0.1:0").await.expect("a UDP socket");
        socket
            .send_to(&query(name, kind), dns.addr())
            .await
            .expect("sent");
        let mut reply = vec![0; 4096];
        let len = timeout(REPLY_TIMEOUT, socket.recv(&mut reply))
            .await
            .expect("a UDP reply in time")
            .expect("received");
        Message::from_vec(&reply[..len]).expect("a valid reply")
    }

    /// Same over TCP, where each message has a two-byte length before it.
    async fn ask_tcp(dns: &DnsServer, name: &str, kind: RecordType) -> Message {
        let mut stream = TcpStream::connect(dns.addr()).await.expect("connected");
        let query = query(name, kind);
        let len = u16::try_from(query.len()).expect("a small query");
        stream.write_all(&len.to_be_bytes()).await.expect("sent");
        stream.write_all(&query).await.expect("sent");
        let read = async {
            let len = stream.read_u16().await.expect("a length");
            let mut reply = vec![0; usize::from(len)];
            stream.read_exact(&mut reply).await.expect("a reply");
            reply
        };
        let reply = timeout(REPLY_TIMEOUT, read)
            .await
            .expect("a TCP reply in time");
        Message::from_vec(&reply).expect("a valid reply")
    }

    fn txt_values(reply: &Message) -> Vec<String> {
        let mut values: Vec<String> = reply
            .answers
            .iter()
            .map(|record| match &record.data {
                RData::TXT(txt) => txt
                    .txt_data
                    .iter()
                    .map(|s| String::from_utf8_lossy(s))
                    .collect(),
                other => panic!("expected TXT, got {other:?}"),
            })
            .collect();
        values.sort();
        values
    }

    #[tokio::test]
    async fn answers_txt_from_the_table_over_udp_and_tcp() {
        let dns = DnsServer::start().await;
        let long = "k".repeat(300);
        dns.set_txt(
            "_tenantry-challenge.acme.test",
            &["token-2", "token-1", long.as_str()],
        );

        let reply = ask_udp(&dns, "_Tenantry-Challenge.ACME.test.", RecordType::TXT).await;
        assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
        assert!(reply.metadata.authoritative);
        assert_eq!(txt_values(&reply), [long.as_str(), "token-1", "token-2"]);

        let reply = ask_tcp(&dns, "_tenantry-challenge.acme.test.", RecordType::TXT).await;
        assert_eq!(txt_values(&reply), [long.as_str(), "token-1", "token-2"]);

        let reply = ask_udp(&dns, "_tenantry-challenge.acme.test.", RecordType::A).await;
        assert_eq!(reply.metadata.response_code, ResponseCode::NoError);
        assert!(reply.answers.is_empty());

        dns.set_txt("_tenantry-challenge.acme.test.", &[]);
        let reply = ask_udp(&dns, "_tenantry-challenge.acme.test.", RecordType::TXT).await;
        assert_eq!(reply.metadata.response_code, ResponseCode::NXDomain);
        assert!(reply.metadata.authoritative);
        assert!(reply.answers.is_empty());
    }

    /// The shared server outlives the test runtime that first used it, and
    /// `publish` adds to what is there.
    #[tokio::test]
    async fn the_shared_server_keeps_every_published_value() {
        shared().publish("_dns-self-test.shared.test", "one");
        shared().publish("_DNS-self-test.shared.test.", "two");
        shared().publish("_dns-self-test.shared.test", "one");
        let reply = ask_tcp(shared(), "_dns-self-test.shared.test.", RecordType::TXT).await;
        assert_eq!(txt_values(&reply), ["one", "two"]);
    }
}
