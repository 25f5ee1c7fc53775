//! What both peers' tests share beyond the conformance suite.

use common::CommonArgs;
use conformance::{Model, TestClient};

/// Sends `WORK <units>` for each of the protocol crate's test vectors and
/// checks the digest: the peer's own `work` must mix exactly as Rust's.
pub fn work_reproduces_the_test_vectors<M: Model>() {
    let args = CommonArgs {
        max_work: 100_000,
        ..CommonArgs::default()
    };
    let server = conformance::server::start::<M>(args);
    let mut client = TestClient::handshaked(server.addr(), 1);
    for (units, digest) in protocol::work::TEST_VECTORS {
        client.exchange(
            &format!("WORK {units}"),
            &format!("DONE {units} {digest:016x}"),
        );
    }
    server.stop();
}
