package pglocal

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/ulikunitz/xz"
)

// unpackJar unpacks a build's jar (a zip holding one .txz, an
// xz-compressed tar of the installation) to dest. It unpacks into a
// staging directory of cacheDir first and renames that to dest once the
// build is complete, so that dest never holds part of a build; if another
// process got there first, its build is kept.
func unpackJar(r io.ReaderAt, size int64, cacheDir, dest string) error {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return fmt.Errorf("open the jar: %w", err)
	}
	var txz *zip.File
	for _, f := range zr.File {
		if strings.HasSuffix(f.Name, ".txz") {
			if txz != nil {
				return fmt.Errorf("the jar holds more than one .txz (%s, %s)", txz.Name, f.Name)
			}
			txz = f
		}
	}
	if txz == nil {
		return errors.New("the jar holds no .txz")
	}
	rc, err := txz.Open()
	if err != nil {
		return fmt.Errorf("open %s: %w", txz.Name, err)
	}
	defer rc.Close()

	staging, err := os.MkdirTemp(cacheDir, ".unpack-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(staging) // nothing left once renamed
	if err := os.Chmod(staging, 0o755); err != nil {
		return err
	}
	// The xz decoder reads a few bytes at a time: buffer the jar's reads.
	if err := untarXZ(bufio.NewReaderSize(rc, 1<<20), staging); err != nil {
		return fmt.Errorf("unpack %s: %w", txz.Name, err)
	}
	if checkBinDir(filepath.Join(staging, "bin")) != nil {
		return errors.New("the build has no complete bin directory (initdb, postgres, pg_ctl)")
	}
	if err := os.Rename(staging, dest); err != nil {
		if checkBinDir(filepath.Join(dest, "bin")) == nil {
			return nil // another process unpacked it meanwhile
		}
		return err
	}
	return nil
}

// untarXZ unpacks an xz-compressed tar into dir. Every entry must stay
// inside dir, links included. Directories are made mode 0755 and files
// 0644, or 0755 if executable, so that a server user other than the
// owner can use them.
func untarXZ(r io.Reader, dir string) error {
	xr, err := xz.NewReader(r)
	if err != nil {
		return err
	}
	tr := tar.NewReader(xr)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if !filepath.IsLocal(hdr.Name) {
			return fmt.Errorf("entry %q is outside the build", hdr.Name)
		}
		target := filepath.Join(dir, hdr.Name)
		if hdr.Typeflag != tar.TypeDir {
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(target, 0o755)
		case tar.TypeReg:
			err = writeFile(target, tr, hdr.Mode&0o111 != 0)
		case tar.TypeSymlink:
			if filepath.IsAbs(hdr.Linkname) || !filepath.IsLocal(filepath.Join(filepath.Dir(hdr.Name), hdr.Linkname)) {
				return fmt.Errorf("link %q -> %q points outside the build", hdr.Name, hdr.Linkname)
			}
			err = os.Symlink(hdr.Linkname, target)
		case tar.TypeLink:
			if !filepath.IsLocal(hdr.Linkname) {
				return fmt.Errorf("link %q -> %q points outside the build", hdr.Name, hdr.Linkname)
			}
			err = os.Link(filepath.Join(dir, hdr.Linkname), target)
		default:
			return fmt.Errorf("entry %q has unsupported type %q", hdr.Name, hdr.Typeflag)
		}
		if err != nil {
			return err
		}
	}
}

// writeFile creates the file path with r's content.
func writeFile(path string, r io.Reader, executable bool) error {
	perm := os.FileMode(0o644)
	if executable {
		perm = 0o755
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, perm)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, r)
	return errors.Join(err, f.Close())
}
