// libpng (libpng-dev), plus three small functions that read a PNG from memory into 8-bit RGB.
//
// libpng reports errors by longjmp from its error callback. A longjmp must not cross a Swift
// frame, so every libpng call is made from the C functions below, each of which catches errors
// with setjmp in its own frame and returns -1 with the library's message in `reader->message`.
//
// We use the low-level API rather than png_image_*: the simplified API composites alpha, applies
// gAMA and treats 16-bit files as linear, none of which PIL's convert("RGB") does.
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

/// A PNG being read from a caller-owned buffer, which must outlive the reader.
typedef struct {
    png_structp png;
    png_infop info;
    const unsigned char *data;
    size_t size;
    size_t offset;
    char message[256];
} senet_png_reader;

static void senet_png_on_error(png_structp png, png_const_charp message) {
    senet_png_reader *reader = (senet_png_reader *)png_get_error_ptr(png);
    strncpy(reader->message, message, sizeof reader->message - 1);
    png_longjmp(png, 1);
}

static void senet_png_on_warning(png_structp png, png_const_charp message) {
    // The library never prints; warnings (bad ancillary chunks, odd ICC profiles) are ignored.
    (void)png;
    (void)message;
}

static void senet_png_on_read(png_structp png, png_bytep out, size_t length) {
    senet_png_reader *reader = (senet_png_reader *)png_get_io_ptr(png);
    if (length > reader->size - reader->offset) png_error(png, "the file is truncated");
    memcpy(out, reader->data + reader->offset, length);
    reader->offset += length;
}

/// Frees the reader and everything libpng holds. Accepts NULL.
static inline void senet_png_close(senet_png_reader *reader) {
    if (reader == NULL) return;
    if (reader->png != NULL) png_destroy_read_struct(&reader->png, &reader->info, NULL);
    free(reader);
}

/// Starts reading `data`; NULL only when memory runs out.
static inline senet_png_reader *senet_png_open(const void *data, size_t size) {
    senet_png_reader *reader = (senet_png_reader *)calloc(1, sizeof(senet_png_reader));
    if (reader == NULL) return NULL;
    reader->data = (const unsigned char *)data;
    reader->size = size;
    reader->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, reader, senet_png_on_error, senet_png_on_warning);
    if (reader->png != NULL) reader->info = png_create_info_struct(reader->png);
    if (reader->png == NULL || reader->info == NULL) {
        senet_png_close(reader);
        return NULL;
    }
    png_set_read_fn(reader->png, reader, senet_png_on_read);
    return reader;
}

/// Reads the chunks before the image data; 0 with the size, or -1 with `reader->message`.
static inline int senet_png_read_info(senet_png_reader *reader, png_uint_32 *width, png_uint_32 *height) {
    if (setjmp(png_jmpbuf(reader->png))) return -1;
    png_read_info(reader->png, reader->info);
    *width = png_get_image_width(reader->png, reader->info);
    *height = png_get_image_height(reader->png, reader->info);
    return 0;
}

/// Decodes the image into `pixels` (height * width * 3 bytes) as PIL's convert("RGB") does:
/// palette expanded, grey replicated, alpha and tRNS dropped, 16-bit cut to the high byte,
/// gAMA ignored, interlacing undone. 0, or -1 with `reader->message`.
static inline int senet_png_read_rgb(senet_png_reader *reader, unsigned char *pixels) {
    if (setjmp(png_jmpbuf(reader->png))) return -1;
    png_structp png = reader->png;
    png_infop info = reader->info;
    png_uint_32 width = png_get_image_width(png, info);
    png_uint_32 height = png_get_image_height(png, info);
    int depth = png_get_bit_depth(png, info);
    int colorType = png_get_color_type(png, info);

    if (depth == 16) png_set_strip_16(png);
    if (colorType == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (colorType == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if ((colorType & PNG_COLOR_MASK_COLOR) == 0) png_set_gray_to_rgb(png);
    png_set_strip_alpha(png);
    int passes = png_set_interlace_handling(png);
    png_read_update_info(png, info);
    if (png_get_rowbytes(png, info) != (size_t)width * 3) png_error(png, "conversion to 8-bit RGB failed");

    // Each interlace pass reads every row again; libpng fills in that pass's pixels.
    for (int pass = 0; pass < passes; pass++) {
        for (png_uint_32 y = 0; y < height; y++) png_read_row(png, pixels + (size_t)y * width * 3, NULL);
    }
    return 0;
}
