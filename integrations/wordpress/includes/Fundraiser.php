<?php
/**
 * The fundraiser widget: the backend's /fundraisers/<slug>/embed page in an iframe, as the
 * [membership_fundraiser slug="…" height="…"] shortcode and as the "Fundraiser progress" block
 * (plain JavaScript, no build step; rendered on the server like the shortcode).
 */

declare(strict_types=1);

namespace MembershipAccess;

final class Fundraiser
{
    public const SHORTCODE = 'membership_fundraiser';
    public const BLOCK = 'membership/fundraiser';
    private const DEFAULT_HEIGHT = 200;  // the widget on a phone, its title over two lines

    public static function register(string $plugin_url): void
    {
        add_shortcode(self::SHORTCODE, [self::class, 'shortcode']);
        add_action('init', static function () use ($plugin_url): void {
            wp_register_script(
                'membership-access-fundraiser-block',
                $plugin_url . 'assets/fundraiser-block.js',
                ['wp-blocks', 'wp-element', 'wp-components', 'wp-block-editor', 'wp-i18n', 'wp-server-side-render'],
                VERSION,
                true
            );
            register_block_type(self::BLOCK, [
                'api_version' => 2,
                'title' => __('Fundraiser progress', TEXT_DOMAIN),
                'category' => 'widgets',
                'editor_script' => 'membership-access-fundraiser-block',
                'attributes' => [
                    'slug' => ['type' => 'string', 'default' => ''],
                    'height' => ['type' => 'number', 'default' => self::DEFAULT_HEIGHT],
                ],
                'render_callback' => [self::class, 'render_block'],
            ]);
        });
    }

    public static function valid_slug(string $slug): bool
    {
        return (bool) preg_match('/^[a-z0-9](?:[a-z0-9-]{0,98}[a-z0-9])?$/', $slug);
    }

    /** @param array<string, string>|string $atts */
    public static function shortcode($atts): string
    {
        $atts = shortcode_atts(['slug' => '', 'height' => (string) self::DEFAULT_HEIGHT, 'title' => ''], (array) $atts, self::SHORTCODE);
        return self::iframe((string) $atts['slug'], (int) $atts['height'], (string) $atts['title']);
    }

    /** @param array<string, mixed> $attributes */
    public static function render_block(array $attributes): string
    {
        $html = self::iframe((string) ($attributes['slug'] ?? ''), (int) ($attributes['height'] ?? self::DEFAULT_HEIGHT), '');
        return $html === '' ? '' : '<div ' . get_block_wrapper_attributes() . '>' . $html . '</div>';
    }

    /** The widget's iframe; nothing (or a note for editors) without a backend or a valid slug. */
    public static function iframe(string $slug, int $height, string $title): string
    {
        $slug = trim($slug) !== '' ? trim($slug) : Settings::default_fundraiser();
        $base = Settings::backend_url();
        if ($base === '' || !self::valid_slug($slug)) {
            return current_user_can('edit_posts')
                ? '<p class="membership-fundraiser-missing">' . esc_html__('Fundraiser widget: set the backend address and a fundraiser slug.', TEXT_DOMAIN) . '</p>'
                : '';
        }
        $height = min(max($height, 120), 1200);
        return sprintf(
            // The backend's embed-host.js sizes the frame to the widget's content (postMessage).
            '<iframe class="membership-fundraiser" src="%s" title="%s" width="100%%" height="%d" loading="lazy" style="display:block;border:0;width:100%%;max-width:520px"></iframe>'
            . '<script src="%s" async></script>',
            esc_url($base . '/fundraisers/' . $slug . '/embed'),
            esc_attr($title !== '' ? $title : __('Fundraiser progress', TEXT_DOMAIN)),
            $height,
            esc_url($base . '/static/js/embed-host.js')
        );
    }
}
