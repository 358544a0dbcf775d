fn main() {
    let mut x: u64 = 1;
    let vals: Vec<f64> = (0..200_000).map(|_| { x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407); ((x >> 11) as f64 / (1u64 << 53) as f64) * 360.0 - 180.0 }).collect();
    for _ in 0..3 {
        let t = std::time::Instant::now();
        let mut out = Vec::new();
        for &v in &vals { tachyon_json::write_f64(&mut out, v); out.push(b','); }
        let a = t.elapsed();
        let t = std::time::Instant::now();
        let mut out2 = Vec::new();
        let mut b = zmij::Buffer::new();
        for &v in &vals { out2.extend_from_slice(b.format_finite(v).as_bytes()); out2.push(b','); }
        println!("write_f64 {:?} zmij-only {:?} {}", a, t.elapsed(), out.len());
    }
}
