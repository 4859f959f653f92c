// Command qrframe writes a video for Chromium's fake camera
// (--use-file-for-fake-video-capture) that shows one QR code: a Y4M file of
// greyscale 640×480 frames with the code in the middle, as if held up to a
// camera. The browser tests of camera scanning use it.
//
//	qrframe -out FILE.y4m -text TEXT       a QR code of TEXT
//	qrframe -out FILE.y4m -image FILE.png  a picture of a QR code (a screenshot)
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"

	"github.com/carepass/carepass/modules/credential"
)

const (
	width, height = 640, 480
	// box is the largest side of the QR picture in a frame, in pixels.
	box = 400
	// paper is the luma around the picture: a little darker than white.
	paper = 225
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "qrframe:", err)
		os.Exit(1)
	}
}

func run() error {
	out := flag.String("out", "", "Y4M file to write")
	text := flag.String("text", "", "text of the QR code")
	imagePath := flag.String("image", "", "PNG picture of a QR code")
	frames := flag.Int("frames", 5, "number of frames (the browser plays them in a loop)")
	flag.Parse()
	if *out == "" || (*text == "") == (*imagePath == "") || *frames < 1 {
		flag.Usage()
		return errors.New("give -out and one of -text and -image")
	}

	var pic image.Image
	switch {
	case *imagePath != "":
		f, err := os.Open(*imagePath)
		if err != nil {
			return err
		}
		defer f.Close()
		if pic, err = png.Decode(f); err != nil {
			return fmt.Errorf("%s: %w", *imagePath, err)
		}
	default:
		b, err := credential.QRPNG(*text, box)
		if err != nil {
			return err
		}
		if pic, err = png.Decode(bytes.NewReader(b)); err != nil {
			return err
		}
	}
	return writeY4M(*out, frame(pic), *frames)
}

// frame returns the luma of one frame: pic, scaled to fit box×box (by the
// nearest pixel, so modules stay sharp), in the middle of plain paper.
func frame(pic image.Image) []byte {
	y := bytes.Repeat([]byte{paper}, width*height)
	b := pic.Bounds()
	scale := min(float64(box)/float64(b.Dx()), float64(box)/float64(b.Dy()))
	w, h := int(float64(b.Dx())*scale), int(float64(b.Dy())*scale)
	x0, y0 := (width-w)/2, (height-h)/2
	for py := range h {
		for px := range w {
			sx := b.Min.X + min(int(float64(px)/scale), b.Dx()-1)
			sy := b.Min.Y + min(int(float64(py)/scale), b.Dy()-1)
			y[(y0+py)*width+x0+px] = color.GrayModel.Convert(pic.At(sx, sy)).(color.Gray).Y
		}
	}
	return y
}

// writeY4M writes frames copies of luma as 4:2:0 Y4M with neutral chroma.
func writeY4M(path string, luma []byte, frames int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	chroma := bytes.Repeat([]byte{128}, (width/2)*(height/2))
	fmt.Fprintf(w, "YUV4MPEG2 W%d H%d F10:1 Ip A1:1 C420jpeg\n", width, height)
	for range frames {
		w.WriteString("FRAME\n")
		w.Write(luma)
		w.Write(chroma)
		w.Write(chroma)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
