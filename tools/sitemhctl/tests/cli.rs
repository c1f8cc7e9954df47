//! The built binary against fixture trees (`SITEMHCTL_ROOT`): what it prints, what it
//! writes, and its exit statuses. A fixture is a directory with the files the module
//! exports: proc/net/sitemh and proc/sys/net/ipv{4,6}/...

use std::fs;
use std::path::Path;
use std::path::PathBuf;
use std::process::Command;
use std::process::Stdio;
use std::sync::atomic::AtomicUsize;
use std::sync::atomic::Ordering;

const STATUS: &str = "\
family domain prefix router rerouted confined no_route kept
ipv4 0 198.51.100.0/24 198.51.100.129 12 0 1 0
ipv4 1 203.0.113.0/24 203.0.113.130 0 0 0 0
ipv4 2 10.99.0.0/16 private 0 3 0 0
ipv6 0 2001:db8:1::/48 fe80::c1 4 0 0 2
linkfail sent 0 received 2 refused 0 ignored 0 relayed 0 uplink_failed_ns 0 resent 0 solicited 1 answered 0 repeated 0 stale 0 down 0x2
linkfail6 sent 0 received 0 refused 0 ignored 0 resent 0 solicited 0 answered 0 repeated 0 stale 0 down 0x0
netdev events 3 batches 1 flushes 1
probe sent 0 cached 0 limited 0 refused 0
switchover tracked 7 moved 2 requests 1 answers 1 switched 2 refused 0 gave_up 0 limited 0 stranded 0
switchover6 tracked 1 moved 0 requests 0 answers 0 switched 0 refused 0 gave_up 0 limited 0 stranded 0
home addr 192.0.2.77 careof 198.51.100.10 stacked 5 restored 0 refused 0 tunnelled 0 bindings 3 updates_sent 1 updates_taken 0 updates_refused 0 errors_sent 0 errors_heard 0
home6 addr :: careof :: stacked 0 restored 0 refused 0 tunnelled 0 bindings 0 updates_sent 0 updates_taken 0 updates_refused 0 errors_sent 0 errors_heard 0
hooks ip:output ip:forward ip6:output
";

const TABLE4: &str =
    "198.51.100.0/24 198.51.100.129, 203.0.113.0/24 203.0.113.130, 10.99.0.0/16 private\n";
const TABLE6: &str = "2001:db8:1::/48 fe80::c1%eth1\n";

static NEXT: AtomicUsize = AtomicUsize::new(0);

/// A fixture tree in a fresh directory below the target directory.
struct Fixture {
    root: PathBuf,
}

impl Fixture {
    fn new() -> Fixture {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let root = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("fixture-{}-{n}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        let f = Fixture { root };
        f.put("proc/net/sitemh", STATUS);
        f.put("proc/sys/net/ipv4/ip_domain_table", TABLE4);
        f.put("proc/sys/net/ipv6/ip_domain_table", TABLE6);
        f.put("proc/sys/net/ipv4/ip_num_domains", "3\n");
        f.put("proc/sys/net/ipv6/ip_num_domains", "1\n");
        for (fam, n) in [("ipv4", 3), ("ipv6", 1)] {
            for i in 0..n {
                for a in [
                    "bandwidth",
                    "gross_bandwidth",
                    "path_bandwidth",
                    "unused_bandwidth",
                    "hops",
                    "latency",
                ] {
                    f.put(&format!("proc/sys/net/{fam}/ip_domain/{i}/{a}"), "0\n");
                }
            }
        }
        f.put("proc/sys/net/ipv4/ip_domain/1/bandwidth", "100000\n");
        f.put("proc/sys/net/ipv4/ip_domain/1/hops", "4\n");
        f.put("proc/sys/net/ipv4/sitemh_ce/uplink", "ce1-up\n");
        f.put("proc/sys/net/ipv4/sitemh_ce/pe_addr", "192.0.2.1\n");
        f.put("proc/sys/net/ipv4/sitemh_ce/lan", "ce1-b\n");
        f.put("proc/sys/net/ipv4/sitemh_ce/keepalive_ms", "100\n");
        f.put("proc/sys/net/ipv4/sitemh_lf/failback_ms", "2000\n");
        f.put("proc/sys/net/ipv4/ip_home_addr", "192.0.2.77\n");
        f.put("proc/sys/net/ipv4/ip_use_homeaddr", "1\n");
        f.put("proc/sys/net/ipv4/sitemh_home/correspondent", "0\n");
        f
    }

    fn put(&self, rel: &str, text: &str) {
        let path = self.root.join(rel);
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).unwrap();
        }
        fs::write(path, text).unwrap();
    }

    fn get(&self, rel: &str) -> String {
        fs::read_to_string(self.root.join(rel)).unwrap()
    }

    /// Runs the binary with `args`; returns (status, stdout, stderr).
    fn run(&self, args: &str) -> (i32, String, String) {
        run_in(&self.root, args)
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.root);
    }
}

fn run_in(root: &Path, args: &str) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sitemhctl"))
        .args(args.split_whitespace())
        .env("SITEMHCTL_ROOT", root)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// Python's json module reads `text` as one document, and `expr` (over `d`) holds.
fn json_holds(text: &str, expr: &str) -> bool {
    let mut child = Command::new("python3")
        .args([
            "-c",
            &format!("import json,sys\nd=json.load(sys.stdin)\nassert {expr}, d"),
        ])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    child.wait().unwrap().success()
}

const T4: &str = "proc/sys/net/ipv4/ip_domain_table";
const T6: &str = "proc/sys/net/ipv6/ip_domain_table";

#[test]
fn show_prints_every_section() {
    let f = Fixture::new();
    let (rc, out, err) = f.run("show");
    assert_eq!(rc, 0, "{err}");
    for want in [
        "ipv4: 3 domains",
        "  0: 198.51.100.0/24 via 198.51.100.129 source manual state UP",
        "     rerouted 12 confined 0 no_route 1 kept 0",
        "  1: 203.0.113.0/24 via 203.0.113.130 source manual state DOWN",
        "     path bandwidth 100000 gross_bandwidth 0 path_bandwidth 0 unused_bandwidth 0 hops 4 latency 0",
        "  2: 10.99.0.0/16 private source manual state UP",
        "ipv6: 1 domain",
        "  0: 2001:db8:1::/48 via fe80::c1%eth1 source manual state UP",
        "ce: CE router, uplink ce1-up",
        "  config keepalive_ms 100 lan ce1-b pe_addr 192.0.2.1 uplink ce1-up",
        "linkfail sent 0 received 2",
        "connections ipv4: tracked 7 moved 2",
        "connections ipv6: tracked 1 moved 0",
        "  config failback_ms 2000",
        "bindings ipv4: addr 192.0.2.77 careof 198.51.100.10 stacked 5",
        "  config ip_home_addr 192.0.2.77 ip_use_homeaddr 1 correspondent 0",
        "hooks: ip:output ip:forward ip6:output",
        "probe sent 0",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
}

/// STATUS with a domain learned from a router advertisement (IPv6 index 1, after the one
/// configured domain) and the learning counters.
fn status_with_learned() -> String {
    STATUS.replace(
        "ipv6 0 2001:db8:1::/48 fe80::c1 4 0 0 2\n",
        "ipv6 0 2001:db8:1::/48 fe80::c1 4 0 0 2\n\
         ipv6 1 2001:db8:2::/64 fe80::c2 3 0 0 0\n\
         learned6 2001:db8:2::/64 fe80::c2%eth2 expires_s 1790\n\
         ra6 auto 1 learned 1 heard 5 no_room 0 dropped 1\n",
    )
}

#[test]
fn show_names_each_domains_source() {
    let f = Fixture::new();
    f.put("proc/net/sitemh", &status_with_learned());
    let (rc, out, err) = f.run("show domains");
    assert_eq!(rc, 0, "{err}");
    for want in [
        "  0: 198.51.100.0/24 via 198.51.100.129 source manual state UP\n",
        "ipv6: 2 domains\n",
        "  0: 2001:db8:1::/48 via fe80::c1%eth1 source manual state UP\n",
        "  1: 2001:db8:2::/64 via fe80::c2%eth2 source ra router fe80::c2%eth2 expires_s 1790 state UP\n",
        "     rerouted 3 confined 0 no_route 0 kept 0\n",
        "  ra6 auto 1 learned 1 heard 5 no_room 0 dropped 1\n",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }

    // The DHCP exit hook applied the IPv4 table now in place.
    f.put("run/sitemh/dhcp-eth0.applied", TABLE4);
    f.put("run/sitemh/dhcp-eth0.saved", "\n");
    let (rc, out, _) = f.run("show domains -4");
    assert_eq!(rc, 0);
    assert!(
        out.contains(
            "  0: 198.51.100.0/24 via 198.51.100.129 source dhcp interface eth0 state UP\n"
        ),
        "{out}"
    );
    assert!(
        out.contains("  2: 10.99.0.0/16 private source dhcp interface eth0 state UP\n"),
        "{out}"
    );
    let (rc, out, _) = f.run("-j show");
    assert_eq!(rc, 0);
    assert!(
        json_holds(
            &out,
            "[x['source'] for x in d['domains']['ipv4']]==['dhcp']*3 \
             and d['domains']['ipv4'][1]['dhcp']=={'interface':'eth0'} \
             and [x['source'] for x in d['domains']['ipv6']]==['manual','ra'] \
             and d['domains']['ipv6'][1]['ra']=={'router':'fe80::c2%eth2','expires_s':1790} \
             and d['domains']['ipv6'][1]['dev']=='eth2' and d['domains']['ipv6'][1]['counters']['rerouted']==3 \
             and 'ra' not in d['domains']['ipv6'][0] \
             and d['domains']['ra6']=={'auto':1,'learned':1,'heard':5,'no_room':0,'dropped':1} \
             and 'ra6' not in d['other'] and 'learned6' not in d['other']"
        ),
        "{out}"
    );

    // An edit since the lease: the table is the operator's again.
    let (rc, _, err) = f.run("domain add 192.0.2.0/24 via 192.0.2.254");
    assert_eq!(rc, 0, "{err}");
    let (_, out, _) = f.run("show domains -4");
    assert!(!out.contains("source dhcp"), "{out}");
    assert!(
        out.contains("  3: 192.0.2.0/24 via 192.0.2.254 source manual state UP\n"),
        "{out}"
    );
}

#[test]
fn show_sections_one_by_one() {
    let f = Fixture::new();
    let (rc, out, _) = f.run("show hooks");
    assert_eq!(
        (rc, out.as_str()),
        (0, "hooks: ip:output ip:forward ip6:output\n")
    );
    let (rc, out, _) = f.run("sh conn");
    assert_eq!(rc, 0);
    assert!(out.starts_with("connections ipv4: tracked 7"), "{out}");
    assert!(!out.contains("ipv4: 3 domains"), "{out}");
    let (rc, out, _) = f.run("-6 show domains");
    assert_eq!(rc, 0);
    assert!(out.starts_with("ipv6: 1 domain\n"), "{out}");
    assert!(!out.contains("ipv4"), "{out}");
}

#[test]
fn show_json_is_one_document() {
    let f = Fixture::new();
    let (rc, out, _) = f.run("-j show");
    assert_eq!(rc, 0);
    assert_eq!(out.lines().count(), 1);
    assert!(json_holds(
        &out,
        "d['domains']['ipv4'][1]['state']=='down' and d['domains']['ipv4'][0]['counters']['rerouted']==12 \
         and d['domains']['ipv4'][2]['private'] and d['domains']['ipv6'][0]['dev']=='eth1' \
         and d['domains']['ipv4'][0]['source']=='manual' and d['ce']['role']=='ce' \
         and d['connections']['ipv4']['tracked']==7 and d['bindings']['ipv4']['bindings']==3 \
         and d['hooks']==['ip:output','ip:forward','ip6:output'] and d['other']['probe']['sent']==0 \
         and d['domains']['ipv4'][1]['path']['bandwidth']==100000"
    ));
    let (rc, out, _) = f.run("-j -p show ce");
    assert_eq!(rc, 0);
    assert!(out.lines().count() > 5);
    assert!(json_holds(
        &out,
        "list(d)==['ce'] and d['ce']['config']['pe_addr']=='192.0.2.1'"
    ));
}

#[test]
fn json_strings_are_escaped() {
    let f = Fixture::new();
    f.put("proc/sys/net/ipv4/sitemh_ce/lan", "a\"b\\c\u{1}\n");
    let (rc, out, _) = f.run("--json show ce");
    assert_eq!(rc, 0);
    assert!(out.contains(r#""lan":"a\"b\\c\u0001""#), "{out}");
    assert!(json_holds(
        &out,
        "d['ce']['config']['lan']=='a\"b\\\\c\\x01'"
    ));
}

#[test]
fn every_command_answers_json() {
    let f = Fixture::new();
    for (args, expr) in [
        ("-j domain show", "len(d['ipv4'])==3"),
        (
            "-j domain add 192.0.2.0/24 via 192.0.2.254",
            "d['ipv4'][3]=={'index':3,'prefix':'192.0.2.0/24','router':'192.0.2.254'}",
        ),
        (
            "-j domain set 192.0.2.0/24 private",
            "d['ipv4'][3]['router'] is None",
        ),
        ("-j domain del 192.0.2.0/24", "len(d['ipv4'])==3"),
        ("-j help", "'Usage' in d"),
        ("-j -V", "'version' in d"),
        ("-j pairs 127.0.0.1", "True"),
    ] {
        let (rc, out, err) = f.run(args);
        // pairs needs the module on this machine: without it, an error and no JSON.
        if args.contains("pairs") && rc != 0 {
            assert!(err.starts_with("Error: "), "{err}");
            assert!(out.is_empty());
            continue;
        }
        assert_eq!(rc, 0, "{args}: {err}");
        assert!(json_holds(&out, expr), "{args}: {out}");
    }
}

#[test]
fn add_writes_the_whole_table_at_once() {
    let f = Fixture::new();
    let (rc, out, err) = f.run("domain add 192.0.2.0/24 via 192.0.2.254");
    assert_eq!((rc, out.as_str(), err.as_str()), (0, "", ""));
    assert_eq!(
        f.get(T4),
        "198.51.100.0/24 198.51.100.129, 203.0.113.0/24 203.0.113.130, 10.99.0.0/16 private, 192.0.2.0/24 192.0.2.254\n"
    );
    assert_eq!(f.get(T6), TABLE6, "the other family's table was touched");
    let (rc, _, _) = f.run("domain add 2001:db8:2::/48 via fe80::c2%eth2");
    assert_eq!(rc, 0);
    assert_eq!(
        f.get(T6),
        "2001:db8:1::/48 fe80::c1%eth1, 2001:db8:2::/48 fe80::c2%eth2\n"
    );
    let (rc, _, _) = f.run("domain add fd00:99::/48");
    assert_eq!(rc, 0);
    assert!(f.get(T6).ends_with(", fd00:99::/48 private\n"));
}

#[test]
fn set_changes_the_router_in_place() {
    let f = Fixture::new();
    let (rc, _, err) = f.run("domain set 203.0.113.0/24 private");
    assert_eq!(rc, 0, "{err}");
    assert_eq!(
        f.get(T4),
        "198.51.100.0/24 198.51.100.129, 203.0.113.0/24 private, 10.99.0.0/16 private\n"
    );
    let (rc, _, _) = f.run("domain set 10.99.0.0/16 via 10.99.0.1");
    assert_eq!(rc, 0);
    assert!(f.get(T4).ends_with("10.99.0.0/16 10.99.0.1\n"));
}

#[test]
fn del_renumbers_the_domains_after_it() {
    let f = Fixture::new();
    let (rc, _, err) = f.run("domain del 198.51.100.0/24");
    assert_eq!(rc, 0, "{err}");
    assert_eq!(
        f.get(T4),
        "203.0.113.0/24 203.0.113.130, 10.99.0.0/16 private\n"
    );
}

#[test]
fn flush_empties_one_or_both_families() {
    let f = Fixture::new();
    let (rc, _, _) = f.run("-6 domain flush");
    assert_eq!(rc, 0);
    assert_eq!(f.get(T6), "\n");
    assert_eq!(f.get(T4), TABLE4);
    let (rc, _, _) = f.run("domain flush");
    assert_eq!(rc, 0);
    assert_eq!(f.get(T4), "\n");
}

#[test]
fn bad_input_is_refused_and_nothing_is_written() {
    let f = Fixture::new();
    for (args, rc_want, msg) in [
        (
            "domain add 198.51.100.7/24",
            1,
            "Error: prefix 198.51.100.7/24 has host bits set (did you mean 198.51.100.0/24?)",
        ),
        (
            "domain add 198.51.100.0/24 via 198.51.100.1",
            1,
            "Error: domain 198.51.100.0/24 exists (index 0)",
        ),
        (
            "domain del 192.0.2.0/24",
            1,
            "Error: no domain 192.0.2.0/24",
        ),
        (
            "domain set 192.0.2.0/24 private",
            1,
            "Error: no domain 192.0.2.0/24",
        ),
        (
            "domain add 192.0.2.0/24 via 2001:db8::1",
            1,
            "Error: router 2001:db8::1 is not an ipv4 address",
        ),
        (
            "domain add 2001:db8:9::/48 via fe80::9",
            1,
            "Error: router fe80::9 is link-local",
        ),
        (
            "domain add 192.0.2.0/33",
            1,
            "Error: prefix 192.0.2.0/33: the length must be",
        ),
        (
            "domain add 192.0.2/24",
            1,
            "Error: prefix 192.0.2/24: \"192.0.2\" is not an IPv4 address",
        ),
        (
            "-6 domain add 192.0.2.0/24",
            1,
            "Error: 192.0.2.0/24 is an ipv4 prefix, but -6 was given",
        ),
        (
            "domain add 192.0.2.0/24 192.0.2.1",
            255,
            "Error: \"domain add\" takes \"via ROUTER\" or \"private\"",
        ),
        ("domain add", 255, "Error: \"domain add\" needs PREFIX/LEN"),
        (
            "domain nonsense",
            255,
            "Error: command \"nonsense\" of \"domain\" is unknown",
        ),
        ("nonsense", 255, "Error: object \"nonsense\" is unknown"),
        ("--frob show", 255, "Error: unknown option \"--frob\""),
        ("show frob", 255, "Error: \"frob\" is not a section of show"),
    ] {
        let (rc, out, err) = f.run(args);
        assert_eq!(rc, rc_want, "{args}: {err}");
        assert!(err.starts_with(msg), "{args}: {err}");
        assert!(out.is_empty(), "{args}: {out}");
        assert_eq!(f.get(T4), TABLE4, "{args} changed the table");
        assert_eq!(f.get(T6), TABLE6, "{args} changed the table");
    }
}

#[test]
fn a_full_table_is_refused() {
    let f = Fixture::new();
    let full: Vec<String> = (0..16).map(|i| format!("10.{i}.0.0/16 private")).collect();
    let text = format!("{}\n", full.join(", "));
    f.put(T4, &text);
    let (rc, _, err) = f.run("domain add 192.0.2.0/24");
    assert_eq!(rc, 1);
    assert!(err.contains("the ipv4 table is full (16 domains)"), "{err}");
    assert_eq!(f.get(T4), text);
}

#[test]
fn an_incomplete_domain_blocks_edits_but_not_flush() {
    let f = Fixture::new();
    f.put(T4, "198.51.100.0/24 198.51.100.129, -\n");
    let (rc, _, err) = f.run("domain add 192.0.2.0/24");
    assert_eq!(rc, 1);
    assert!(err.contains("domain 1 has no prefix yet"), "{err}");
    let (rc, out, _) = f.run("show domains -4");
    assert_eq!(rc, 0);
    assert!(
        out.contains("  1: - (net_addr not written) source manual state INCOMPLETE"),
        "{out}"
    );
    let (rc, _, _) = f.run("-4 domain flush");
    assert_eq!(rc, 0);
    assert_eq!(f.get(T4), "\n");
}

#[test]
fn without_the_module_commands_fail_with_1() {
    let empty = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("fixture-empty");
    fs::create_dir_all(&empty).unwrap();
    for args in ["show", "domain add 192.0.2.0/24", "domain show", "-j show"] {
        let (rc, out, err) = run_in(&empty, args);
        assert_eq!(rc, 1, "{args}");
        assert!(out.is_empty());
        assert!(
            err.starts_with("Error: the sitemh module is not loaded"),
            "{args}: {err}"
        );
    }
}

#[test]
fn a_module_without_the_table_node_still_shows() {
    let f = Fixture::new();
    fs::remove_file(f.root.join(T4)).unwrap();
    let (rc, out, _) = f.run("show domains -4");
    assert_eq!(rc, 0);
    assert!(
        out.contains("  0: 198.51.100.0/24 via 198.51.100.129 source manual state UP"),
        "{out}"
    );
    let (rc, _, err) = f.run("domain add 192.0.2.0/24");
    assert_eq!(rc, 1);
    assert!(err.contains("has no net.ipv4.ip_domain_table"), "{err}");
}

#[test]
fn help_exits_0_on_stdout() {
    let f = Fixture::new();
    let (rc, out, err) = f.run("help");
    assert_eq!((rc, err.as_str()), (0, ""));
    assert!(out.starts_with("Usage: sitemhctl"));
    assert!(out.contains("Exit status"));
    let (rc, out2, _) = f.run("--help");
    assert_eq!((rc, out2), (0, out));
}

/// Runs the binary with `args` and the environment `env` (no fixture: `monitor` reads
/// no files); returns (status, stdout, stderr).
fn run_env(env: &[(&str, &str)], args: &str) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sitemhctl"))
        .args(args.split_whitespace())
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn monitor_without_the_family_fails_with_2() {
    // A family no kernel has (so that the test does not depend on the module being
    // loaded on this machine): the controller answers ENOENT.
    let env = [("SITEMHCTL_GENL_FAMILY", "sitemh-nonesuch")];
    for args in [
        "monitor",
        "-j monitor",
        "monitor events count 1",
        "monitor own",
    ] {
        let (rc, out, err) = run_env(&env, args);
        assert_eq!(rc, 2, "{args}: {err}");
        assert!(out.is_empty(), "{args}: {out}");
        assert_eq!(
            err,
            "Error: the sitemh module is not loaded (no generic netlink family \"sitemh-nonesuch\")\n",
            "{args}"
        );
    }
}

#[test]
fn monitor_resolves_a_real_family_and_its_groups() {
    // The controller's own family exists everywhere, with group "notify" only: the reply
    // is parsed, and the missing group named (exit 1, decided here).
    let env = [("SITEMHCTL_GENL_FAMILY", "nlctrl")];
    for (args, group) in [("monitor", "events"), ("monitor own", "own")] {
        let (rc, out, err) = run_env(&env, args);
        assert_eq!(rc, 1, "{args}: {err}");
        assert!(out.is_empty());
        assert_eq!(
            err,
            format!("Error: the generic netlink family \"nlctrl\" has no group \"{group}\"\n")
        );
    }
}

#[test]
fn monitor_command_line_errors_exit_255() {
    for args in [
        "monitor all",
        "monitor events own",
        "monitor --count 0",
        "monitor count",
    ] {
        let (rc, out, err) = run_env(&[], args);
        assert_eq!(rc, 255, "{args}");
        assert!(out.is_empty());
        assert!(
            err.starts_with("Error: ") && err.contains("sitemhctl help"),
            "{err}"
        );
    }
    let (rc, out, _) = run_env(&[], "help");
    assert_eq!(rc, 0);
    assert!(out.contains("sitemhctl monitor [events | own] [count N]"));
}
