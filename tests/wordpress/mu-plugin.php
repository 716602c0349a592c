<?php
/**
 * The test site's own settings (not the plugin's): no mail leaves it, and the emoji script
 * (which may load images from s.w.org) is off, so that a page asks nobody but this site and the
 * membership backend. The option test_locale sets the site's language even where Debian ships no
 * WordPress translation for it (Armenian, Azerbaijani), as an installed language pack would.
 */

if (!function_exists('wp_mail')) {
    function wp_mail($to, $subject, $message, $headers = '', $attachments = []) // phpcs:ignore
    {
        return true;
    }
}
remove_action('wp_head', 'print_emoji_detection_script', 7);
remove_action('admin_print_scripts', 'print_emoji_detection_script');
remove_action('wp_print_styles', 'print_emoji_styles');
remove_action('admin_print_styles', 'print_emoji_styles');
add_filter('locale', static fn ($locale) => get_option('test_locale') ?: $locale);
