<?php
/**
 * The test's hands inside WordPress (php-cli, Debian's WordPress, the site of tests/wordpress/site.py):
 *
 *   php wp.php install TITLE ADMIN PASSWORD   install WordPress, activate the plugin, write the posts
 *   php wp.php configure JSON                 merge JSON into the plugin's settings (as a save would)
 *   php wp.php age-keys SECONDS               make the cached key set that much older
 *   php wp.php age-rules SECONDS              make every cached rule answer that much older
 *   php wp.php transient NAME                 a transient's value and expiry, as JSON
 *   php wp.php expire-in NAME SECONDS         let a transient expire that many seconds from now
 *   php wp.php option NAME VALUE              set a WordPress option (test_locale: the site's language)
 *
 * Each prints one JSON document. WP_SITE_DIR names the site (its wp-config.php is the test's).
 */

declare(strict_types=1);

define('ABSPATH', rtrim((string) getenv('WP_SITE_DIR'), '/') . '/');
$_SERVER['HTTP_HOST'] ??= parse_url((string) getenv('WP_SITE_URL'), PHP_URL_HOST) . ':' . parse_url((string) getenv('WP_SITE_URL'), PHP_URL_PORT);
$_SERVER['REQUEST_URI'] ??= '/';
$command = $argv[1] ?? '';
if ($command === 'install') {
    define('WP_INSTALLING', true);
}
require ABSPATH . 'wp-load.php';

function out(mixed $value): void
{
    echo json_encode($value, JSON_UNESCAPED_SLASHES | JSON_THROW_ON_ERROR), "\n";
}

function term(string $taxonomy, string $name, string $slug): int
{
    $found = term_exists($slug, $taxonomy);
    $made = $found ?: wp_insert_term($name, $taxonomy, ['slug' => $slug]);
    if (is_wp_error($made)) {
        throw new RuntimeException($made->get_error_message());
    }
    return (int) $made['term_id'];
}

function post(string $slug, string $title, string $content, array $categories, array $tags): array
{
    $id = wp_insert_post([
        'post_type' => 'post',
        'post_status' => 'publish',
        'post_name' => $slug,
        'post_title' => $title,
        'post_content' => $content,
        'post_category' => $categories,
        'tags_input' => $tags,
        'post_author' => 1,
    ], true);
    if (is_wp_error($id)) {
        throw new RuntimeException($id->get_error_message());
    }
    return ['id' => $id, 'url' => get_permalink($id)];
}

function age(string $name, int $seconds): bool
{
    $value = get_transient($name);
    if (!is_array($value)) {
        return false;
    }
    foreach (['fetched_at', 'at'] as $field) {
        if (isset($value[$field])) {
            $value[$field] -= $seconds;
        }
    }
    return set_transient($name, $value, DAY_IN_SECONDS);
}

switch ($command) {
    case 'install':
        require_once ABSPATH . 'wp-admin/includes/upgrade.php';
        require_once ABSPATH . 'wp-admin/includes/plugin.php';
        [, , $title, $admin, $password] = $argv;
        wp_install($title, $admin, 'admin@example.org', false, '', $password);
        // The editor's welcome guide shows an image from s.w.org: an outside request.
        update_user_meta(1, $GLOBALS['wpdb']->get_blog_prefix() . 'persisted_preferences', ['core/edit-post' => ['welcomeGuide' => false], '_modified' => gmdate('c')]);
        update_option('show_avatars', 0);  // Gravatar is an outside request the pages need not make
        update_option('permalink_structure', '/%category%/%postname%/');
        delete_option('rewrite_rules');  // built again by the first request, with the new structure
        $activated = activate_plugin('membership-access/membership-access.php');
        if (is_wp_error($activated)) {
            throw new RuntimeException($activated->get_error_message());
        }
        $investigations = term('category', 'Investigations', 'investigations');
        $insider = term('category', 'Insider', 'insider');
        $news = term('category', 'News', 'news');
        $paragraphs = static fn (array $texts): string => implode("\n\n", array_map(
            static fn (string $text): string => "<!-- wp:paragraph -->\n<p>$text</p>\n<!-- /wp:paragraph -->",
            $texts
        ));
        out([
            'river' => post('the-river-report', 'The river report: where the money went', $paragraphs([
                'Two years of records on the river clean-up fund.',
                'We followed every payment from the ministry to the contractors.',
                'MEMBERS-ONLY: the contractor behind three shell companies is named here.',
                'MEMBERS-ONLY: and the documents are published in full.',
            ]), [$investigations], ['members-only']),
            'insider' => post('insider-briefing', 'Insider briefing', "What our editors are watching this week.\n\n<!--more-->\n\nINSIDER-ONLY: the story we will publish on Monday.", [$insider], []),
            'weather' => post('weather-week', "The week's weather", $paragraphs(['Sun, then rain.', 'OPEN-TO-ALL: take an umbrella on Thursday.']), [$news], []),
            'support' => post('support-us', 'Support independent journalism', $paragraphs(['Our fundraiser, as a shortcode:'])
                . "\n\n<!-- wp:shortcode -->\n[membership_fundraiser slug=\"reporters-together\" height=\"220\"]\n<!-- /wp:shortcode -->\n\n"
                . $paragraphs(['And as a block:']) . "\n\n<!-- wp:membership/fundraiser {\"slug\":\"reporters-together\"} /-->", [$news], []),
        ]);
        break;
    case 'configure':
        $settings = json_decode($argv[2], true, 8, JSON_THROW_ON_ERROR);
        $current = get_option('membership_access', []);
        $current = (is_array($current) ? $current : []) + ['generation' => 1];
        $settings['generation'] = (int) $current['generation'] + 1;
        update_option('membership_access', array_merge($current, $settings));
        delete_transient('membership_access_jwks');
        delete_transient('membership_access_jwks_backoff');
        delete_transient('membership_access_rules_backoff');
        delete_transient('membership_access_problem');
        out(get_option('membership_access'));
        break;
    case 'age-keys':
        out(age('membership_access_jwks', (int) $argv[2]));
        break;
    case 'age-rules':
        global $wpdb;
        $names = $wpdb->get_col("SELECT option_name FROM {$wpdb->options} WHERE option_name LIKE '\\_transient\\_membership\\_access\\_rule\\_%'");
        out(array_map(static fn (string $option) => age(substr($option, strlen('_transient_')), (int) $argv[2]), $names));
        break;
    case 'expire-in':
        update_option('_transient_timeout_' . $argv[2], time() + (int) $argv[3]);
        out((int) get_option('_transient_timeout_' . $argv[2]));
        break;
    case 'option':
        update_option($argv[2], $argv[3]);
        out(get_option($argv[2]));
        break;
    case 'transient':
        out(['value' => get_transient($argv[2]), 'timeout' => get_option('_transient_timeout_' . $argv[2])]);
        break;
    default:
        fwrite(STDERR, "unknown command $command\n");
        exit(2);
}
