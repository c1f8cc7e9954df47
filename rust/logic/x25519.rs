// SPDX-License-Identifier: GPL-2.0

//! X25519 (RFC 7748): the elliptic-curve Diffie-Hellman function with which two modules
//! agree on a connection's exchange keys when no application gave any (issue 19,
//! `net.ipv4.sitemh_lf.auto`).
//!
//! The kernel has Curve25519 only when something selects `CRYPTO_LIB_CURVE25519`
//! (WireGuard does; nothing a test or distribution kernel can be relied on to build), so
//! the module carries its own, checked against RFC 7748's vectors (also the 1,000-fold
//! iteration on the host) and against its Diffie-Hellman example. Field elements are five
//! 51-bit limbs; the Montgomery ladder swaps by mask, so that no branch and no memory
//! access depends on the secret scalar.

/// A field element modulo 2^255 - 19: five 51-bit limbs, least significant first (a limb
/// may run a few bits over between reductions).
type Fe = [u64; 5];

const MASK: u64 = (1 << 51) - 1;

/// Octets of a scalar, a public key and a shared secret.
pub(crate) const KEY_LEN: usize = 32;

/// The base point's u-coordinate, 9.
pub(crate) const BASE_POINT: [u8; KEY_LEN] = {
    let mut b = [0u8; KEY_LEN];
    b[0] = 9;
    b
};

fn load8(b: &[u8; 32], at: usize) -> u64 {
    let mut w = [0u8; 8];
    let mut i = 0;
    while i < 8 {
        w[i] = b[at + i];
        i += 1;
    }
    u64::from_le_bytes(w)
}

/// The u-coordinate in `bytes` (its top bit ignored, RFC 7748 section 5).
fn decode(bytes: &[u8; KEY_LEN]) -> Fe {
    let mut b = *bytes;
    b[31] &= 127;
    [
        load8(&b, 0) & MASK,
        (load8(&b, 6) >> 3) & MASK,
        (load8(&b, 12) >> 6) & MASK,
        (load8(&b, 19) >> 1) & MASK,
        (load8(&b, 24) >> 12) & MASK,
    ]
}

/// One pass of carries, the top limb's folded back times 19.
fn carry(mut t: Fe) -> Fe {
    for i in 0..4 {
        t[i + 1] += t[i] >> 51;
        t[i] &= MASK;
    }
    t[0] += 19 * (t[4] >> 51);
    t[4] &= MASK;
    t
}

/// The canonical encoding (fully reduced).
fn encode(f: &Fe) -> [u8; KEY_LEN] {
    let mut t = carry(carry(*f));
    // Now below 2^255 + a little; subtract p if at least p: add 19, carry, and see
    // whether 2^255 was reached.
    t[0] += 19;
    t = carry(t);
    // Below p the sum stayed below 2^255 and the 19 is taken off again; at or above, the
    // carry out of bit 255 (folded in as 19) is the subtraction of p.
    t[0] += (1 << 51) - 19;
    for limb in t.iter_mut().skip(1) {
        *limb += (1 << 51) - 1;
    }
    for i in 0..4 {
        t[i + 1] += t[i] >> 51;
        t[i] &= MASK;
    }
    t[4] &= MASK;
    let words = [
        t[0] | (t[1] << 51),
        (t[1] >> 13) | (t[2] << 38),
        (t[2] >> 26) | (t[3] << 25),
        (t[3] >> 39) | (t[4] << 12),
    ];
    let mut out = [0u8; KEY_LEN];
    for (room, word) in out.chunks_exact_mut(8).zip(words) {
        room.copy_from_slice(&word.to_le_bytes());
    }
    out
}

fn add(a: &Fe, b: &Fe) -> Fe {
    [
        a[0] + b[0],
        a[1] + b[1],
        a[2] + b[2],
        a[3] + b[3],
        a[4] + b[4],
    ]
}

/// `a - b`, with 4p added so that no limb goes below zero (limbs of `b` below 2^53).
fn sub(a: &Fe, b: &Fe) -> Fe {
    const FOUR_P0: u64 = 4 * ((1 << 51) - 19);
    const FOUR_P: u64 = 4 * ((1 << 51) - 1);
    carry([
        a[0] + FOUR_P0 - b[0],
        a[1] + FOUR_P - b[1],
        a[2] + FOUR_P - b[2],
        a[3] + FOUR_P - b[3],
        a[4] + FOUR_P - b[4],
    ])
}

fn mul(a: &Fe, b: &Fe) -> Fe {
    let m = |x: u64, y: u64| u128::from(x) * u128::from(y);
    let b19 = [b[1] * 19, b[2] * 19, b[3] * 19, b[4] * 19];
    let r = [
        m(a[0], b[0]) + m(a[1], b19[3]) + m(a[2], b19[2]) + m(a[3], b19[1]) + m(a[4], b19[0]),
        m(a[0], b[1]) + m(a[1], b[0]) + m(a[2], b19[3]) + m(a[3], b19[2]) + m(a[4], b19[1]),
        m(a[0], b[2]) + m(a[1], b[1]) + m(a[2], b[0]) + m(a[3], b19[3]) + m(a[4], b19[2]),
        m(a[0], b[3]) + m(a[1], b[2]) + m(a[2], b[1]) + m(a[3], b[0]) + m(a[4], b19[3]),
        m(a[0], b[4]) + m(a[1], b[3]) + m(a[2], b[2]) + m(a[3], b[1]) + m(a[4], b[0]),
    ];
    let mut out = [0u64; 5];
    let mut c: u128 = 0;
    for i in 0..5 {
        let v = r[i] + c;
        out[i] = (v as u64) & MASK;
        c = v >> 51;
    }
    // c < 2^64: folded back times 19 into a limb below 2^51.
    let v = u128::from(out[0]) + c * 19;
    out[0] = (v as u64) & MASK;
    out[1] += (v >> 51) as u64;
    out
}

fn square(a: &Fe) -> Fe {
    mul(a, a)
}

/// Swaps `a` and `b` when `swap` is 1, without a branch (`swap` is 0 or 1).
fn cswap(swap: u64, a: &mut Fe, b: &mut Fe) {
    let mask = 0u64.wrapping_sub(swap);
    for i in 0..5 {
        let x = mask & (a[i] ^ b[i]);
        a[i] ^= x;
        b[i] ^= x;
    }
}

/// `z` to the power p - 2 = 2^255 - 21: its inverse (the exponent is public).
fn invert(z: &Fe) -> Fe {
    let mut result: Fe = [1, 0, 0, 0, 0];
    // p - 2 in binary: bits 254..5 set, then 01011.
    for bit in (0..255).rev() {
        result = square(&result);
        let set = bit >= 5 || (0b01011 >> bit) & 1 == 1;
        if set {
            result = mul(&result, z);
        }
    }
    result
}

/// X25519(`scalar`, `u`): the scalar clamped as RFC 7748 says. `None` if the result is
/// zero (`u` of small order: a peer that sends one gets no shared secret).
pub(crate) fn x25519(scalar: &[u8; KEY_LEN], u: &[u8; KEY_LEN]) -> Option<[u8; KEY_LEN]> {
    let mut k = *scalar;
    k[0] &= 248;
    k[31] &= 127;
    k[31] |= 64;
    let x1 = decode(u);
    let (mut x2, mut z2): (Fe, Fe) = ([1, 0, 0, 0, 0], [0; 5]);
    let (mut x3, mut z3): (Fe, Fe) = (x1, [1, 0, 0, 0, 0]);
    let a24: Fe = [121_665, 0, 0, 0, 0];
    let mut swap = 0u64;
    for t in (0..255).rev() {
        let bit = u64::from((k[t / 8] >> (t % 8)) & 1);
        swap ^= bit;
        cswap(swap, &mut x2, &mut x3);
        cswap(swap, &mut z2, &mut z3);
        swap = bit;
        let a = add(&x2, &z2);
        let aa = square(&a);
        let b = sub(&x2, &z2);
        let bb = square(&b);
        let e = sub(&aa, &bb);
        let c = add(&x3, &z3);
        let d = sub(&x3, &z3);
        let da = mul(&d, &a);
        let cb = mul(&c, &b);
        x3 = square(&add(&da, &cb));
        z3 = mul(&x1, &square(&sub(&da, &cb)));
        x2 = mul(&aa, &bb);
        z2 = mul(&e, &add(&aa, &mul(&a24, &e)));
    }
    cswap(swap, &mut x2, &mut x3);
    cswap(swap, &mut z2, &mut z3);
    let shared = encode(&mul(&x2, &invert(&z2)));
    // Constant time: every octet looked at.
    let zero = shared.iter().fold(0u8, |acc, &b| acc | b) == 0;
    (!zero).then_some(shared)
}

/// The public key of `scalar`.
pub(crate) fn public_key(scalar: &[u8; KEY_LEN]) -> Option<[u8; KEY_LEN]> {
    x25519(scalar, &BASE_POINT)
}

/// Cases shared by the host tests and KUnit.
pub(crate) mod vectors {
    use super::*;

    /// The names of the checks below: one host test and one KUnit case each.
    #[cfg(any(test, CONFIG_KUNIT))]
    macro_rules! checks {
        ([$($rest:ident),*] $($then:tt)*) => {
            crate::logic::gather_checks!([$($rest),*] $($then)* x25519 {
                rfc7748_vectors,
                rfc7748_diffie_hellman,
                small_order_refused,
            });
        };
    }
    #[cfg(any(test, CONFIG_KUNIT))]
    pub(crate) use checks;

    /// Hex (64 digits) to 32 octets.
    pub(crate) fn hex32(s: &str) -> [u8; 32] {
        let mut out = [0u8; 32];
        let digit = |c: u8| match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            _ => 0,
        };
        for (i, pair) in s.as_bytes().chunks_exact(2).take(32).enumerate() {
            out[i] = digit(pair[0]) << 4 | digit(pair[1]);
        }
        out
    }

    /// RFC 7748 section 5.2: the two scalar multiplications, and the first step of the
    /// iteration.
    pub(crate) fn rfc7748_vectors() -> Result<(), &'static str> {
        let cases = [
            (
                "a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
                "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
                "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552",
            ),
            (
                "4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
                "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
                "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957",
            ),
            (
                "0900000000000000000000000000000000000000000000000000000000000000",
                "0900000000000000000000000000000000000000000000000000000000000000",
                "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079",
            ),
        ];
        for (k, u, out) in cases {
            if x25519(&hex32(k), &hex32(u)) != Some(hex32(out)) {
                return Err("an RFC 7748 scalar multiplication");
            }
        }
        Ok(())
    }

    /// RFC 7748 section 6.1: both public keys, and the same shared secret at both ends.
    pub(crate) fn rfc7748_diffie_hellman() -> Result<(), &'static str> {
        let alice = hex32("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
        let bob = hex32("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
        let alice_public = public_key(&alice).ok_or("public key")?;
        let bob_public = public_key(&bob).ok_or("public key")?;
        if alice_public != hex32("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")
            || bob_public
                != hex32("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f")
        {
            return Err("public keys");
        }
        let shared = hex32("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
        if x25519(&alice, &bob_public) != Some(shared)
            || x25519(&bob, &alice_public) != Some(shared)
        {
            return Err("shared secret");
        }
        Ok(())
    }

    /// Points of small order (0, 1, and p + 1 encoded) give no shared secret.
    pub(crate) fn small_order_refused() -> Result<(), &'static str> {
        let k = hex32("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4");
        let mut one = [0u8; 32];
        one[0] = 1;
        let p_plus_1 = hex32("eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f");
        for u in [[0u8; 32], one, p_plus_1] {
            if x25519(&k, &u).is_some() {
                return Err("a small-order point gives a shared secret");
            }
        }
        Ok(())
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        crate::logic::gather_checks!([x25519] crate::logic::host_tests!());

        /// RFC 7748 section 5.2, the 1,000-fold iteration (too slow for KUnit under TCG).
        #[test]
        fn rfc7748_thousand_iterations() {
            let mut k = BASE_POINT;
            let mut u = BASE_POINT;
            for _ in 0..1000 {
                let r = x25519(&k, &u).expect("non-zero");
                u = k;
                k = r;
            }
            assert_eq!(
                k,
                hex32("684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51")
            );
        }
    }
}
