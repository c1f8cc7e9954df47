// SPDX-License-Identifier: GPL-2.0

//! Keys for the authenticated link-failure exchange (draft 2.1.2), derived from the
//! connection's TLS session as `SO_SEQPARAM` hands it over.
//!
//! Two forms, and both ends of a connection compute the same keys:
//!
//! - TLS 1.2 (RFC 5246 section 6.1 SecurityParameters: the master secret and both randoms):
//!   `key_block = PRF(master_secret, "sitemh link failure", server_random + client_random)`
//!   with the TLS 1.2 PRF, P_SHA256 (section 5);
//! - TLS 1.3 (or 1.2 with RFC 5705): `key_block` is the keying material the application
//!   exports from its session with label `EXPORTER-sitemh-link-failure`, no context, 40
//!   octets (`SSL_export_keying_material`, `openssl s_client -keymatexport`).
//!
//! `key_block` is cut as TLS cuts its own: client write key (16), server write key (16),
//! client salt (4), server salt (4). Each end seals with its own key and salt (the client
//! is the end that sent the ClientHello) and opens with the other's. The AES-128-GCM nonce
//! is the salt followed by the 8-octet sequence number (the explicit nonce on the wire).
//!
//! SHA-256 and HMAC are implemented here, in plain Rust, because they run once per
//! `setsockopt` and the same code is then tested on the host against RFC vectors.

/// Octets of a TLS 1.2 master secret.
pub(crate) const MASTER_SECRET_LEN: usize = 48;
/// Octets of a TLS random.
pub(crate) const RANDOM_LEN: usize = 32;
/// Octets of the key block: two AES-128 keys and two 4-octet salts.
pub(crate) const KEY_BLOCK_LEN: usize = 40;
/// The PRF label of the TLS 1.2 form.
pub(crate) const PRF_LABEL: &[u8] = b"sitemh link failure";
/// The exporter label of the TLS 1.3 form.
pub(crate) const EXPORTER_LABEL: &[u8] = b"EXPORTER-sitemh-link-failure";

/// Overwrites `buf` with zeros in a way the compiler keeps even when `buf` is never read
/// again (key material on its way out: `memzero_explicit` in C, without `unsafe`). The
/// buffer is handed to `black_box` afterwards, which the optimiser must assume reads it,
/// so the stores cannot be dropped as dead; the fence keeps them before what follows.
pub(crate) fn wipe(buf: &mut [u8]) {
    buf.fill(0);
    core::hint::black_box(&mut *buf);
    core::sync::atomic::compiler_fence(core::sync::atomic::Ordering::SeqCst);
}

/// Overwrites `words` with zeros, as [`wipe`] does.
fn wipe_words(words: &mut [u32]) {
    words.fill(0);
    core::hint::black_box(&mut *words);
    core::sync::atomic::compiler_fence(core::sync::atomic::Ordering::SeqCst);
}

/// SHA-256 (FIPS 180-4), incremental. Its state is wiped when it goes (it hashes keys).
pub(crate) struct Sha256 {
    state: [u32; 8],
    block: [u8; 64],
    filled: usize,
    length: u64,
}

const K: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

impl Sha256 {
    /// A fresh hash.
    pub(crate) fn new() -> Self {
        Self {
            state: [
                0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
                0x5be0cd19,
            ],
            block: [0; 64],
            filled: 0,
            length: 0,
        }
    }

    fn compress(&mut self) {
        let mut w = [0u32; 64];
        self.compress_with(&mut w);
        wipe_words(&mut w);
    }

    fn compress_with(&mut self, w: &mut [u32; 64]) {
        for (i, word) in self.block.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16]
                .wrapping_add(s0)
                .wrapping_add(w[i - 7])
                .wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut h] = self.state;
        for i in 0..64 {
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = h
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(K[i])
                .wrapping_add(w[i]);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(maj);
            h = g;
            g = f;
            f = e;
            e = d.wrapping_add(t1);
            d = c;
            c = b;
            b = a;
            a = t1.wrapping_add(t2);
        }
        for (s, v) in self.state.iter_mut().zip([a, b, c, d, e, f, g, h]) {
            *s = s.wrapping_add(v);
        }
    }

    /// Hashes `data`.
    pub(crate) fn update(&mut self, data: &[u8]) {
        for &byte in data {
            self.block[self.filled] = byte;
            self.filled += 1;
            if self.filled == 64 {
                self.compress();
                self.filled = 0;
            }
        }
        self.length = self.length.wrapping_add(data.len() as u64);
    }

    /// The digest.
    pub(crate) fn finish(mut self) -> [u8; 32] {
        let bits = self.length.wrapping_mul(8);
        self.update(&[0x80]);
        while self.filled != 56 {
            self.update(&[0]);
        }
        self.update(&bits.to_be_bytes());
        let mut out = [0u8; 32];
        for (chunk, word) in out.chunks_exact_mut(4).zip(self.state.iter()) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        out
    }
}

impl Drop for Sha256 {
    fn drop(&mut self) {
        wipe_words(&mut self.state);
        wipe(&mut self.block);
    }
}

/// HMAC-SHA256 (RFC 2104) over the concatenation of `parts`.
pub(crate) fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut block = [0u8; 64];
    if key.len() > 64 {
        let mut h = Sha256::new();
        h.update(key);
        block[..32].copy_from_slice(&h.finish());
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let mut pad = [0u8; 64];
    for (p, b) in pad.iter_mut().zip(block.iter()) {
        *p = b ^ 0x36;
    }
    let mut inner = Sha256::new();
    inner.update(&pad);
    for part in parts {
        inner.update(part);
    }
    let mut inner_digest = inner.finish();
    for (p, b) in pad.iter_mut().zip(block.iter()) {
        *p = b ^ 0x5c;
    }
    let mut outer = Sha256::new();
    outer.update(&pad);
    outer.update(&inner_digest);
    wipe(&mut pad);
    wipe(&mut block);
    wipe(&mut inner_digest);
    outer.finish()
}

/// The TLS 1.2 PRF with SHA-256 (RFC 5246 section 5): fills `out`. The seed is the
/// concatenation of at most three `seed` parts (callers join longer ones themselves).
pub(crate) fn tls12_prf(secret: &[u8], label: &[u8], seed: &[&[u8]], out: &mut [u8]) {
    // A(1) = HMAC(secret, label + seed); A(i) = HMAC(secret, A(i-1)).
    let mut parts: [&[u8]; 4] = [label, &[], &[], &[]];
    let n = seed.len().min(3);
    parts[1..=n].copy_from_slice(&seed[..n]);
    let mut a = hmac_sha256(secret, &parts[..=n]);
    for chunk in out.chunks_mut(32) {
        let mut with_seed: [&[u8]; 5] = [&a, label, &[], &[], &[]];
        with_seed[2..2 + n].copy_from_slice(&seed[..n]);
        let mut block = hmac_sha256(secret, &with_seed[..2 + n]);
        chunk.copy_from_slice(&block[..chunk.len()]);
        wipe(&mut block);
        let mut next = hmac_sha256(secret, &[&a]);
        a.copy_from_slice(&next);
        wipe(&mut next);
    }
    wipe(&mut a);
}

/// The keys of one end. Neither copied, printed nor compared (a comparison of secrets
/// must take constant time: [`constant_time_eq`]); wiped when dropped.
pub(crate) struct Keys {
    /// AES-128-GCM key for what this end sends.
    pub(crate) seal_key: [u8; 16],
    /// Salt (first 4 nonce octets) for what this end sends.
    pub(crate) seal_salt: [u8; 4],
    /// Key for what the peer sends.
    pub(crate) open_key: [u8; 16],
    /// Salt for what the peer sends.
    pub(crate) open_salt: [u8; 4],
}

impl Keys {
    /// Cuts a key block for the client end (`is_client`) or the server end.
    pub(crate) fn from_key_block(block: &[u8; KEY_BLOCK_LEN], is_client: bool) -> Self {
        // Cut straight into the fields: no copy of a key is left behind on the stack.
        let (client_key, rest) = block.split_at(16);
        let (server_key, rest) = rest.split_at(16);
        let (client_salt, server_salt) = rest.split_at(4);
        let (seal_key, open_key, seal_salt, open_salt) = if is_client {
            (client_key, server_key, client_salt, server_salt)
        } else {
            (server_key, client_key, server_salt, client_salt)
        };
        let mut keys = Self {
            seal_key: [0; 16],
            seal_salt: [0; 4],
            open_key: [0; 16],
            open_salt: [0; 4],
        };
        keys.seal_key.copy_from_slice(seal_key);
        keys.open_key.copy_from_slice(open_key);
        keys.seal_salt.copy_from_slice(seal_salt);
        keys.open_salt.copy_from_slice(open_salt);
        keys
    }

    /// The TLS 1.2 form.
    pub(crate) fn from_tls12(
        master_secret: &[u8; MASTER_SECRET_LEN],
        client_random: &[u8; RANDOM_LEN],
        server_random: &[u8; RANDOM_LEN],
        is_client: bool,
    ) -> Self {
        let mut block = [0u8; KEY_BLOCK_LEN];
        tls12_prf(
            master_secret,
            PRF_LABEL,
            &[server_random, client_random],
            &mut block,
        );
        let keys = Self::from_key_block(&block, is_client);
        wipe(&mut block);
        keys
    }
}

/// The PRF label of keys derived from a connection's kernel TLS state.
pub(crate) const KTLS_LABEL: &[u8] = b"sitemh ktls";
/// Octets of one direction's kernel TLS secret at most (a 32-octet key, a 4-octet salt,
/// a 12-octet IV).
pub(crate) const KTLS_SECRET_MAX: usize = 48;

/// The key block of a connection both of whose ends use kernel TLS (issue 19, `ktls`),
/// and whether this end is the "client" of [`Keys::from_key_block`]. Each end holds the
/// same two secrets, crossed: its transmit secret is the other's receive secret. In
/// order they make the PRF's secret, `key_block = PRF(low || high, "sitemh ktls", "")`,
/// and the end whose transmit secret is the lower one seals with the client's half, so
/// the two ends always take opposite halves. Nothing secret leaves the kernel, and the
/// block says nothing of the TLS keys (a PRF of them under a label of its own). `None`:
/// empty, too long or unequal lengths, or equal secrets (the two halves could not be
/// told apart).
pub(crate) fn ktls_key_block(tx: &[u8], rx: &[u8]) -> Option<([u8; KEY_BLOCK_LEN], bool)> {
    if tx.is_empty() || tx.len() != rx.len() || tx.len() > KTLS_SECRET_MAX || tx == rx {
        return None;
    }
    let is_client = tx < rx;
    let (low, high) = if is_client { (tx, rx) } else { (rx, tx) };
    let mut secret = [0u8; 2 * KTLS_SECRET_MAX];
    let len = 2 * tx.len();
    secret[..tx.len()].copy_from_slice(low);
    secret[tx.len()..len].copy_from_slice(high);
    let mut block = [0u8; KEY_BLOCK_LEN];
    tls12_prf(&secret[..len], KTLS_LABEL, &[], &mut block);
    wipe(&mut secret);
    Some((block, is_client))
}

impl Drop for Keys {
    fn drop(&mut self) {
        wipe(&mut self.seal_key);
        wipe(&mut self.seal_salt);
        wipe(&mut self.open_key);
        wipe(&mut self.open_salt);
    }
}

/// The 12-octet AES-GCM nonce of sequence number `seq` under `salt`.
pub(crate) fn nonce(salt: &[u8; 4], seq: u64) -> [u8; 12] {
    let mut n = [0u8; 12];
    n[..4].copy_from_slice(salt);
    n[4..].copy_from_slice(&seq.to_be_bytes());
    n
}

/// Compares two MACs in time that does not depend on where they differ.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut diff = 0u8;
    for (x, y) in a.iter().zip(b) {
        diff |= x ^ y;
    }
    // Read the accumulator once, so the comparison above is not cut short.
    core::hint::black_box(diff) == 0
}

/// Named checks shared by the host tests and the KUnit suite `sitemh_kdf` (FIPS and RFC
/// vectors), so that the kernel build of this file is exercised too.
pub(crate) mod vectors {
    use super::*;

    /// The names of the checks below: one host test and one KUnit case each.
    #[cfg(any(test, CONFIG_KUNIT))]
    macro_rules! checks {
        ([$($rest:ident),*] $($then:tt)*) => {
            crate::logic::gather_checks!([$($rest),*] $($then)* kdf {
                sha256_fips_vectors,
                hmac_rfc4231,
                prf_tls12_published_vector,
                prf_tls12_keys_of_the_two_ends,
                nonce_and_exporter_label,
                ktls_keys_of_the_two_ends,
            });
        };
    }
    #[cfg(any(test, CONFIG_KUNIT))]
    pub(crate) use checks;

    /// Whether `bytes` are the octets the hex text spells (no allocation: the kernel build).
    fn hex_eq(bytes: &[u8], hex: &str) -> bool {
        let digit = |c: u8| (c as char).to_digit(16);
        hex.len() == 2 * bytes.len()
            && hex
                .as_bytes()
                .chunks(2)
                .zip(bytes)
                .all(|(pair, &b)| match pair {
                    [hi, lo] => match (digit(*hi), digit(*lo)) {
                        (Some(hi), Some(lo)) => hi * 16 + lo == u32::from(b),
                        _ => false,
                    },
                    _ => false,
                })
    }

    /// SHA-256 of FIPS 180-4's one- and two-block examples and of the empty message.
    const SHA256_FIPS: &[(&[u8], &str)] = &[
        (
            b"",
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        ),
        (
            b"abc",
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        ),
        (
            b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
        ),
    ];

    /// Key, message parts, the MAC in hex.
    type HmacCase = (&'static [u8], &'static [&'static [u8]], &'static str);

    /// RFC 4231 test cases 1, 2 (the message in two parts) and 6 (a key longer than the
    /// block): key, message parts, HMAC-SHA256.
    const HMAC_RFC4231: &[HmacCase] = &[
        (
            &[0x0b; 20],
            &[b"Hi There"],
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
        ),
        (
            b"Jefe",
            &[b"what do ya want ", b"for nothing?"],
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
        ),
        (
            &[0xaa; 131],
            &[b"Test Using Larger Than Block-Size Key - Hash Key First"],
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
        ),
    ];

    /// The digests of FIPS 180-4, whole and in split updates.
    pub(crate) fn sha256_fips_vectors() -> Result<(), &'static str> {
        for (message, digest) in SHA256_FIPS {
            let mut h = Sha256::new();
            h.update(message);
            if !hex_eq(&h.finish(), digest) {
                return Err("a SHA-256 digest differs from FIPS 180-4");
            }
        }
        let mut h = Sha256::new();
        for chunk in [b"ab".as_slice(), b"", b"c"] {
            h.update(chunk);
        }
        if !hex_eq(&h.finish(), SHA256_FIPS[1].1) {
            return Err("split updates give another SHA-256 digest");
        }
        Ok(())
    }

    /// HMAC-SHA256 as RFC 4231 gives it.
    pub(crate) fn hmac_rfc4231() -> Result<(), &'static str> {
        for (key, parts, mac) in HMAC_RFC4231 {
            if !hex_eq(&hmac_sha256(key, parts), mac) {
                return Err("an HMAC-SHA256 differs from RFC 4231");
            }
        }
        Ok(())
    }

    /// The TLS 1.2 PRF (SHA-256) test vector circulated on the IETF TLS list.
    pub(crate) fn prf_tls12_published_vector() -> Result<(), &'static str> {
        const SECRET: [u8; 16] = [
            0x9b, 0xbe, 0x43, 0x6b, 0xa9, 0x40, 0xf0, 0x17, 0xb1, 0x76, 0x52, 0x84, 0x9a, 0x71,
            0xdb, 0x35,
        ];
        const SEED: [u8; 16] = [
            0xa0, 0xba, 0x9f, 0x93, 0x6c, 0xda, 0x31, 0x18, 0x27, 0xa6, 0xf7, 0x96, 0xff, 0xd5,
            0x19, 0x8c,
        ];
        let mut out = [0u8; 100];
        tls12_prf(&SECRET, b"test label", &[&SEED], &mut out);
        if !hex_eq(
            &out,
            "e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a6b301791e90d35c9c9a46b4e14baf9af0fa022f7077def17abfd3797c0564bab4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff70187347b66",
        ) {
            return Err("the TLS 1.2 PRF differs from the published vector");
        }
        Ok(())
    }

    /// The two ends of a session derive each other's keys, and other sessions other keys.
    pub(crate) fn prf_tls12_keys_of_the_two_ends() -> Result<(), &'static str> {
        let master = [7u8; MASTER_SECRET_LEN];
        let (client_random, server_random) = ([1u8; RANDOM_LEN], [2u8; RANDOM_LEN]);
        let client = Keys::from_tls12(&master, &client_random, &server_random, true);
        let server = Keys::from_tls12(&master, &client_random, &server_random, false);
        if !constant_time_eq(&client.seal_key, &server.open_key)
            || !constant_time_eq(&client.open_key, &server.seal_key)
            || !constant_time_eq(&client.open_salt, &server.seal_salt)
            || !constant_time_eq(&client.seal_salt, &server.open_salt)
        {
            return Err("the two ends' keys do not mirror");
        }
        if constant_time_eq(&client.seal_key, &client.open_key) {
            return Err("one key for both directions");
        }
        let other = Keys::from_tls12(&master, &server_random, &client_random, true);
        if constant_time_eq(&other.seal_key, &client.seal_key) {
            return Err("another session, the same keys");
        }
        Ok(())
    }

    /// The sequence number's place in the nonce, the exporter label's length.
    pub(crate) fn nonce_and_exporter_label() -> Result<(), &'static str> {
        let salt = [0xa5, 0x5a, 0x01, 0x02];
        let n = nonce(&salt, 0x0102);
        if n[..4] != salt || n[4..] != [0, 0, 0, 0, 0, 0, 1, 2] {
            return Err("nonce");
        }
        if EXPORTER_LABEL.len() != 28 {
            return Err("exporter label");
        }
        Ok(())
    }

    /// Two ends of one kTLS connection (one's transmit secret the other's receive
    /// secret) derive the same block and take opposite halves; a different secret, or
    /// anything unusable, gives another block or none.
    pub(crate) fn ktls_keys_of_the_two_ends() -> Result<(), &'static str> {
        let a = [0x11u8; 28];
        let mut b = [0x11u8; 28];
        b[27] = 0x12;
        let (block_a, client_a) = ktls_key_block(&a, &b).ok_or("end A")?;
        let (block_b, client_b) = ktls_key_block(&b, &a).ok_or("end B")?;
        if block_a != block_b || client_a == client_b || !client_a {
            return Err("the two ends disagree");
        }
        let mut c = b;
        c[0] = 0x10;
        match ktls_key_block(&a, &c) {
            Some((other, _)) if other != block_a => {}
            _ => return Err("another secret, the same block"),
        }
        // The PRF itself: its first octets for these secrets.
        let mut secret = [0u8; 56];
        secret[..28].copy_from_slice(&a);
        secret[28..].copy_from_slice(&b);
        let mut expected = [0u8; KEY_BLOCK_LEN];
        tls12_prf(&secret, KTLS_LABEL, &[], &mut expected);
        if expected != block_a {
            return Err("not the PRF of the ordered secrets");
        }
        let sealing_a = Keys::from_key_block(&block_a, client_a);
        let sealing_b = Keys::from_key_block(&block_b, client_b);
        if sealing_a.seal_key != sealing_b.open_key || sealing_a.open_key != sealing_b.seal_key {
            return Err("one end's sealing key is not the other's opening key");
        }
        let long = [0u8; KTLS_SECRET_MAX + 1];
        if ktls_key_block(&a, &a).is_some()
            || ktls_key_block(&[], &[]).is_some()
            || ktls_key_block(&a, &b[..27]).is_some()
            || ktls_key_block(&long, &long).is_some()
        {
            return Err("unusable secrets accepted");
        }
        Ok(())
    }

    #[cfg(test)]
    mod tests {
        crate::logic::gather_checks!([kdf] crate::logic::host_tests!());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> std::vec::Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn sha(data: &[u8]) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(data);
        h.finish()
    }

    #[test]
    fn sha256_matches_fips_vectors() {
        assert_eq!(
            sha(b"").to_vec(),
            hex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        );
        assert_eq!(
            sha(b"abc").to_vec(),
            hex("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        );
        assert_eq!(
            sha(b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq").to_vec(),
            hex("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        );
        // Split updates give the same digest.
        let mut h = Sha256::new();
        for chunk in [b"ab".as_slice(), b"", b"c"] {
            h.update(chunk);
        }
        assert_eq!(h.finish(), sha(b"abc"));
        let million = std::vec![b'a'; 1_000_000];
        assert_eq!(
            sha(&million).to_vec(),
            hex("cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        );
    }

    #[test]
    fn hmac_matches_rfc4231() {
        // Test case 1.
        assert_eq!(
            hmac_sha256(&[0x0b; 20], &[b"Hi There"]).to_vec(),
            hex("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
        );
        // Test case 2, the message in two parts.
        assert_eq!(
            hmac_sha256(b"Jefe", &[b"what do ya want ", b"for nothing?"]).to_vec(),
            hex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        );
        // Test case 6: a key longer than the block.
        assert_eq!(
            hmac_sha256(
                &[0xaa; 131],
                &[b"Test Using Larger Than Block-Size Key - Hash Key First"]
            )
            .to_vec(),
            hex("60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
        );
    }

    #[test]
    fn tls12_prf_matches_the_published_sha256_vector() {
        // The TLS 1.2 PRF (SHA-256) test vector circulated on the IETF TLS list.
        let secret = hex("9bbe436ba940f017b17652849a71db35");
        let seed = hex("a0ba9f936cda311827a6f796ffd5198c");
        let mut out = [0u8; 100];
        tls12_prf(&secret, b"test label", &[&seed], &mut out);
        assert_eq!(
            out.to_vec(),
            hex("e3f229ba727be17b8d122620557cd453c2aab21d07c3d495329b52d4e61edb5a6b301791e90d35c9c9a46b4e14baf9af0fa022f7077def17abfd3797c0564bab4fbc91666e9def9b97fce34f796789baa48082d122ee42c5a72e5a5110fff70187347b66")
        );
    }

    #[test]
    fn both_ends_derive_matching_keys() {
        let master = [7u8; MASTER_SECRET_LEN];
        let (cr, sr) = ([1u8; RANDOM_LEN], [2u8; RANDOM_LEN]);
        let client = Keys::from_tls12(&master, &cr, &sr, true);
        let server = Keys::from_tls12(&master, &cr, &sr, false);
        assert_eq!(client.seal_key, server.open_key);
        assert_eq!(client.open_key, server.seal_key);
        assert_eq!(client.seal_salt, server.open_salt);
        assert_ne!(client.seal_key, client.open_key);
        // Another session, other keys.
        let other = Keys::from_tls12(&master, &sr, &cr, true);
        assert_ne!(other.seal_key, client.seal_key);
    }

    #[test]
    fn wipe_zeroes_everything() {
        let mut secret = [0xa5u8; 40];
        wipe(&mut secret);
        assert_eq!(secret, [0; 40]);
        let mut words = [7u32; 9];
        wipe_words(&mut words);
        assert_eq!(words, [0; 9]);
        // Both ends' keys from one block, cut as before the fields were filled in place.
        let block: [u8; KEY_BLOCK_LEN] = core::array::from_fn(|i| i as u8);
        let client = Keys::from_key_block(&block, true);
        let server = Keys::from_key_block(&block, false);
        assert_eq!(
            client.seal_key.to_vec(),
            (0..16).collect::<std::vec::Vec<u8>>()
        );
        assert_eq!(
            client.open_key.to_vec(),
            (16..32).collect::<std::vec::Vec<u8>>()
        );
        assert_eq!(client.seal_salt, [32, 33, 34, 35]);
        assert_eq!(client.open_salt, [36, 37, 38, 39]);
        assert_eq!(server.seal_key, client.open_key);
        assert_eq!(server.open_salt, client.seal_salt);
    }

    #[test]
    fn nonces_and_comparison() {
        assert_eq!(
            nonce(&[1, 2, 3, 4], 0x0506),
            [1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 5, 6]
        );
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
