//! The reading side of an upload: the local file read in chunks, hashed,
//! encrypted when a key is given, and cut into parts handed to the
//! uploader over a bounded channel (so at most a few parts are in memory).

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

use bytes::Bytes;
use tokio::sync::mpsc;

use super::{Key, OffsiteError};
use crate::domain::Checksum;
use crate::engine::reading::{HashingReader, HashingWriter};

/// What the reading side of an upload saw.
pub(super) struct Produced {
    pub(super) file_checksum: Checksum,
    pub(super) object_size: u64,
    pub(super) object_checksum: Checksum,
}

/// Reads the file, encrypts it when a key is given, and sends it in parts
/// of `part_size` bytes; hashes the file and the parts on the way.
pub(super) fn produce(
    input: File,
    path: &Path,
    key: Option<Key>,
    part_size: usize,
    tx: mpsc::Sender<Bytes>,
) -> Result<Produced, OffsiteError> {
    let mut reader = HashingReader::new(input);
    let mut parts = HashingWriter::new(PartSink {
        buf: Vec::with_capacity(part_size),
        part_size,
        tx,
        sent: false,
    });
    let copied = match &key {
        None => io::copy(&mut reader, &mut parts).map(|_| ()),
        Some(key) => {
            let mut sealed = key.encrypt(&mut parts)?;
            io::copy(&mut reader, &mut sealed).and_then(|_| sealed.finish().map(|_| ()))
        }
    };
    copied
        .and_then(|()| parts.get_mut().send_rest())
        .map_err(|e| match e.kind() {
            io::ErrorKind::BrokenPipe => {
                OffsiteError::Stopped("the bucket stopped taking parts".into())
            }
            _ => OffsiteError::io("cannot read the backup file", path, e),
        })?;
    let (_, file_checksum, _) = reader.finish();
    let (_, object_size, object_checksum) = parts.finish();
    Ok(Produced {
        file_checksum,
        object_size,
        object_checksum,
    })
}

/// Collects written bytes into parts and hands each full part to the uploader.
struct PartSink {
    buf: Vec<u8>,
    part_size: usize,
    tx: mpsc::Sender<Bytes>,
    /// A part went out already (an empty file still sends one).
    sent: bool,
}

impl PartSink {
    fn send(&mut self) -> io::Result<()> {
        let part = std::mem::replace(&mut self.buf, Vec::with_capacity(self.part_size));
        self.sent = true;
        self.tx
            .blocking_send(Bytes::from(part))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "upload stopped"))
    }

    fn send_rest(&mut self) -> io::Result<()> {
        if self.buf.is_empty() && self.sent {
            return Ok(());
        }
        self.send()
    }
}

impl Write for PartSink {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let room = self.part_size - self.buf.len();
        let n = data.len().min(room);
        self.buf.extend_from_slice(&data[..n]);
        if self.buf.len() == self.part_size {
            self.send()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
