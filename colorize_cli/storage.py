"""Folders on any file system pyarrow knows (s3://, gs://, hdfs://, file://, or a local path) for the Ray
engine: `colorize s3://archive/scans -o s3://archive/colour --engine ray`.

Planning lists the source folder once and mirrors it with `media.mirrored`, the rule of local folders.
Each photo is read and written through a local temporary file, so decoding, metadata and encoding are
`media.read_photo` and `media.write_image` as for local files; the upload is atomic: object stores (S3, GCS)
show an object only once it is complete, and elsewhere (HDFS, local) the file is written under a temporary
name and renamed. An existing output's provenance is read back, as for local files, so a rerun skips what
was made with the same settings and refuses to replace what was made otherwise. Credentials come from the environment, as pyarrow reads them (AWS_*, GOOGLE_*)."""

from __future__ import annotations

import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from colorize_cli import media
from colorize_cli.errors import ColorizeError

# object stores: an upload becomes visible only when complete, and a rename is a copy
ATOMIC_UPLOADS = {"s3", "gcs"}


def is_uri(text: str | None) -> bool:
    """A URI with a scheme pyarrow may know (s3://bucket/key), not a Windows drive or a plain path."""
    return bool(text) and "://" in text and len(text.split("://", 1)[0]) > 1


def filesystem(location: str):
    """(pyarrow FileSystem, path inside it) for a URI or a local path."""
    from pyarrow import fs

    try:
        if is_uri(location):
            return fs.FileSystem.from_uri(location)
        return fs.LocalFileSystem(), str(Path(location).resolve())
    except Exception as exc:  # unknown scheme, missing credentials, no such bucket: pyarrow's own words
        raise ColorizeError(f"{location}: cannot open this location ({str(exc).splitlines()[0]}); check the URI and the "
                            "credentials in the environment") from None


def join(location: str, relative: PurePosixPath) -> str:
    return location.rstrip("/") + "/" + relative.as_posix()


@dataclass(frozen=True)
class RemoteJob:
    """One photo: where it is read from and where its colour version goes (URIs or local paths)."""
    source: str
    target: str

    def written_since(self, started: float) -> bool:
        """Does the output exist, modified since `started` (a retried Ray batch meeting its own output)?"""
        from pyarrow import fs

        filesystem_, path = filesystem(self.target)
        info = filesystem_.get_file_info(path)
        return info.type == fs.FileType.File and info.mtime is not None and info.mtime.timestamp() >= started


def plan(source: str, output: str, fmt: str | None = None) -> tuple[list[RemoteJob], list[str]]:
    """(jobs, files that are not images) for the folder `source` mirrored into `output`."""
    from pyarrow import fs

    ext = media.output_extension(fmt)
    source_fs, root = filesystem(source)
    info = source_fs.get_file_info(root)
    if info.type != fs.FileType.Directory:
        what = "no such folder" if info.type == fs.FileType.NotFound else "not a folder"
        raise ColorizeError(f"{source}: {what}; on remote storage give a folder of photos (and -o a folder)")
    jobs, others = [], []
    for entry in sorted(source_fs.get_file_info(fs.FileSelector(root, recursive=True)), key=lambda e: e.path):
        relative = PurePosixPath(entry.path).relative_to(PurePosixPath(root))
        if entry.type != fs.FileType.File or any(part.startswith(".") for part in relative.parts):
            continue  # folders themselves, hidden files and folders (as media.walk)
        if relative.suffix.lower() in media.IMAGE_EXTENSIONS:
            jobs.append(RemoteJob(join(source, relative), join(output, media.mirrored(relative, ext))))
        else:
            others.append(join(source, relative))
    sources = {job.source for job in jobs}
    clash = next((job for job in jobs if job.target in sources), None)
    if clash is not None:
        raise ColorizeError(f"{clash.target}: output would overwrite an input; choose another -o")
    return jobs, others


def existing(jobs: list[RemoteJob]) -> set[RemoteJob]:
    """The jobs whose output exists already (one listing call per output folder's tree)."""
    from pyarrow import fs

    if not jobs:
        return set()
    target_fs, _ = filesystem(jobs[0].target)
    paths = [filesystem(job.target)[1] for job in jobs]
    found = target_fs.get_file_info(paths)
    return {job for job, info in zip(jobs, found) if info.type == fs.FileType.File}


def read_provenance(location: str) -> dict | None:
    """The provenance record of an output at `location` (see `metadata.read_provenance`), or None. The whole
    file is read: WebP and TIFF outputs carry their record after the pixels."""
    import io

    from colorize_cli import metadata

    source_fs, path = filesystem(location)
    try:
        with source_fs.open_input_stream(path) as stream:
            payload = stream.read()
    except OSError:
        return None
    return metadata.read_provenance(io.BytesIO(payload))


def read(location: str, max_pixels: int | None = media.MAX_PIXELS):
    """(pixels, metadata) of one photo, through a local temporary copy; errors name `location`."""
    source_fs, path = filesystem(location)
    with tempfile.TemporaryDirectory(prefix="colorize-in-") as tmp:
        local = Path(tmp) / PurePosixPath(path).name
        try:
            with source_fs.open_input_stream(path) as stream, open(local, "wb") as f:
                while chunk := stream.read(1 << 22):
                    f.write(chunk)
        except OSError as exc:
            raise media.ImageReadError(f"{location}: cannot read ({str(exc).splitlines()[0]}); check the path and its "
                                       "permissions") from None
        try:
            return media.read_photo(local, max_pixels)
        except ColorizeError as exc:
            raise type(exc)(str(exc).replace(str(local), location)) from None


def write(location: str, image, meta=None, provenance: dict | None = None, quality: int | None = None) -> None:
    """Encode like `media.write_image` and upload atomically to `location`."""
    target_fs, path = filesystem(location)
    with tempfile.TemporaryDirectory(prefix="colorize-out-") as tmp:
        local = Path(tmp) / PurePosixPath(path).name
        try:
            media.write_image(local, image, meta, provenance, quality)
        except ColorizeError as exc:
            raise type(exc)(str(exc).replace(str(local), location)) from None
        parent = str(PurePosixPath(path).parent)
        staged = path if target_fs.type_name in ATOMIC_UPLOADS else \
            f"{parent}/.{PurePosixPath(path).stem}.{secrets.token_hex(4)}.part"
        try:
            target_fs.create_dir(parent, recursive=True)
            with open(local, "rb") as f, target_fs.open_output_stream(staged) as stream:
                while chunk := f.read(1 << 22):
                    stream.write(chunk)
            if staged != path:
                target_fs.move(staged, path)
        except OSError as exc:
            if staged != path:
                try:
                    target_fs.delete_file(staged)
                except OSError:
                    pass
            raise ColorizeError(f"{location}: cannot write ({str(exc).splitlines()[0]}); check the location, its "
                                "permissions and free space, then rerun: finished photos are kept") from None


def local_path(location: str) -> Path | None:
    """The local path of a file:// URI or a plain path, for clean-up on this machine; None if remote."""
    if not is_uri(location):
        return Path(location)
    return Path(location.split("://", 1)[1]) if location.startswith("file://") else None


