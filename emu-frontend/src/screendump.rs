//! Screenshots of the display adapter's picture, as QEMU's `screendump`
//! writes them: PPM (`P6`, 8 bits per channel) or PNG (8-bit RGB).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use vemu_devices::Frame;

/// The file formats `screendump` writes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Format {
    Ppm,
    Png,
}

/// The picture's pixels as R, G, B bytes, row by row.
fn rgb_bytes(frame: &Frame) -> Vec<u8> {
    frame.pixels.iter().flat_map(|p| [(p >> 16) as u8, (p >> 8) as u8, *p as u8]).collect()
}

/// Writes `frame` to `path`. An existing file is replaced; when writing
/// fails part way, what was written is removed. The error reads as QEMU's.
pub fn write(path: &Path, frame: &Frame, format: Format) -> Result<(), String> {
    let file = File::create(path)
        .map_err(|e| format!("failed to open file '{}': {}", path.display(), io_reason(&e)))?;
    let result = match format {
        Format::Ppm => write_ppm(file, frame),
        Format::Png => write_png(file, frame),
    };
    result.map_err(|e| {
        let _ = std::fs::remove_file(path);
        format!("failed to write file '{}': {e}", path.display())
    })
}

/// The text of an I/O error without Rust's " (os error N)".
fn io_reason(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

fn write_ppm(file: File, frame: &Frame) -> Result<(), String> {
    let mut w = BufWriter::new(file);
    write!(w, "P6\n{} {}\n255\n", frame.width, frame.height).map_err(|e| io_reason(&e))?;
    w.write_all(&rgb_bytes(frame)).map_err(|e| io_reason(&e))?;
    w.flush().map_err(|e| io_reason(&e))
}

fn write_png(file: File, frame: &Frame) -> Result<(), String> {
    let mut enc = png::Encoder::new(BufWriter::new(file), frame.width, frame.height);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    let mut w = enc.write_header().map_err(|e| e.to_string())?;
    w.write_image_data(&rgb_bytes(frame)).map_err(|e| e.to_string())?;
    w.finish().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame() -> Frame {
        Frame { width: 3, height: 2, pixels: vec![0xff0000, 0x00ff00, 0x0000ff, 0, 0xffffff, 0x123456] }
    }

    #[test]
    fn ppm_is_qemus_p6() {
        let dir = std::env::temp_dir().join(format!("vemu-ppm-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.ppm");
        write(&path, &frame(), Format::Ppm).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[..11], b"P6\n3 2\n255\n");
        assert_eq!(&bytes[11..14], &[0xff, 0, 0]);
        assert_eq!(&bytes[bytes.len() - 3..], &[0x12, 0x34, 0x56]);
        assert_eq!(bytes.len(), 11 + 18);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn png_decodes_to_the_same_pixels() {
        let dir = std::env::temp_dir().join(format!("vemu-png-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.png");
        write(&path, &frame(), Format::Png).unwrap();
        let decoder = png::Decoder::new(std::io::BufReader::new(File::open(&path).unwrap()));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height, info.color_type), (3, 2, png::ColorType::Rgb));
        assert_eq!(&buf[..info.buffer_size()], &rgb_bytes(&frame())[..]);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn an_unwritable_path_is_an_error_in_qemus_words() {
        let e = write(Path::new("/nonexistent/x.ppm"), &frame(), Format::Ppm).unwrap_err();
        assert_eq!(e, "failed to open file '/nonexistent/x.ppm': No such file or directory");
    }
}
