// The TurboJPEG API of libjpeg-turbo (libturbojpeg0-dev). Its functions report errors by return
// value and tjGetErrorStr2, never by longjmp, so Swift calls them directly.
#include <stddef.h>
#include <turbojpeg.h>
