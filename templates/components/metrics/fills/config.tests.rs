#[test]
fn metrics_port_is_optional_and_must_differ_from_port() {
    assert_eq!(config(&[]).unwrap().metrics_port, None);
    let config_9090 = config(&[("METRICS_PORT", "9090")]).unwrap();
    assert_eq!(config_9090.metrics_port, Some(9090));
    for bad in ["0", "metrics", "70000"] {
        assert_eq!(only_error(&[("METRICS_PORT", bad)]).name, "METRICS_PORT");
    }
    let err = only_error(&[("PORT", "9000"), ("METRICS_PORT", "9000")]);
    assert_eq!(err.name, "METRICS_PORT");
    assert!(err.reason.contains("PORT"), "{err}");
}
